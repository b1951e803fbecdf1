package boltcorrupt

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestFixtureIntact is the control: the children report an untouched store
// intact, so a corruption test that sees a failure saw the corruption.
func TestFixtureIntact(t *testing.T) {
	path := writeFixture(t)
	if r := runChild(t, "scan", path, nil, ""); r.code != exitIntact {
		t.Fatalf("scan of the intact fixture: %v", r)
	}
	for _, n := range fixtureNetworks {
		if r := runChild(t, "list", path, []string{DefaultBucket}, networkPrefix(n.name)); r.code != exitIntact {
			t.Fatalf("listing network %s of the intact fixture: %v", n.name, r)
		}
	}
}

// failed reports a child that bbolt stopped: a Go crash, an open error, a
// missing bucket or wrong data, in bounded time.
func failed(r childResult) bool {
	switch r.code {
	case exitGoCrash, exitOpenError, exitBucketMissing, exitMismatch:
		return !r.timedOut
	}
	return false
}

// TestCorruptionEffects applies each corruption to a fresh fixture and
// checks, with bbolt v1.5 in a child process, that it has the effect it
// models.
func TestCorruptionEffects(t *testing.T) {
	fixture := writeFixture(t)
	tests := []struct {
		c      Corruption
		mode   string
		prefix string
		ok     func(childResult) bool
		want   string
	}{
		{c: Truncate(), mode: "scan", ok: failed, want: "a crash or a read failure"},
		{c: ZeroPage(), mode: "scan", ok: failed, want: "a crash or a read failure"},
		{c: FlipBytes(), mode: "scan", ok: failed, want: "a crash or a read failure"},
		{c: LeafCount(), mode: "scan", ok: failed, want: "a crash or a read failure"},
		{
			c: BadFreelist(), mode: "scan", want: "a panic on read-write open",
			ok: func(r childResult) bool { return r.code == exitGoCrash && strings.Contains(r.stderr, "panic") },
		},
		{
			c: MetaWrongRoot(), mode: "scan", want: "a clean open with the bucket gone",
			ok: func(r childResult) bool { return r.code == exitBucketMissing },
		},
		{
			c: MetaChecksums(), mode: "scan", want: "an open error naming the checksum",
			ok: func(r childResult) bool { return r.code == exitOpenError && strings.Contains(r.stdout, "checksum") },
		},
		{
			c: SelfCycle(), mode: "list", prefix: DefaultPrefix, want: "a stack overflow, a loop or a hang",
			ok: func(r childResult) bool {
				return r.timedOut || r.code == exitLoop ||
					(r.code == exitGoCrash && strings.Contains(r.stderr, "stack exceeds"))
			},
		},
		{
			c: CycleLoop(), mode: "list", prefix: DefaultPrefix, want: "a listing that never ends",
			ok: func(r childResult) bool { return r.code == exitLoop },
		},
	}
	for _, tc := range tests {
		t.Run(tc.c.Name(), func(t *testing.T) {
			path := copyFile(t, fixture)
			res, err := tc.c.Apply(path)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			t.Logf("%v", res)
			r := runChild(t, tc.mode, path, []string{DefaultBucket}, tc.prefix)
			t.Logf("bbolt v1.5 %s: %v", tc.mode, r)
			if !tc.ok(r) {
				t.Fatalf("want %s, got %v\nstderr: %.2000s", tc.want, r, r.stderr)
			}
		})
	}
}

// TestCycleLoopLoopsOneNetwork checks the incident's shape: of dockerd's
// per-network endpoint listings exactly one, the looping leaf's network,
// never ends, and a full scan loops too.
func TestCycleLoopLoopsOneNetwork(t *testing.T) {
	path := writeFixture(t)
	res, err := CycleLoop().Apply(path)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	t.Logf("%v", res)
	var looping []string
	for _, n := range fixtureNetworks {
		r := runChild(t, "list", path, []string{DefaultBucket}, networkPrefix(n.name))
		t.Logf("listing network %s: %v", n.name, r)
		switch r.code {
		case exitLoop:
			looping = append(looping, n.name)
		case exitIntact:
		default:
			t.Fatalf("listing network %s: want a loop or the right keys, got %v", n.name, r)
		}
	}
	if len(looping) != 1 {
		t.Fatalf("want exactly one network's listing to loop, got %v", looping)
	}
	if !strings.Contains(res.Detail, networkPrefix(looping[0])) {
		t.Errorf("result does not name the looping listing %q: %s", networkPrefix(looping[0]), res.Detail)
	}
	if r := runChild(t, "scan", path, nil, ""); r.code != exitLoop {
		t.Fatalf("full scan: want a loop, got %v", r)
	}
	rep, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, "referenced again") }) {
		t.Fatalf("Inspect does not report the cycle:\n%v", rep)
	}
}

// TestCycleLoopNestedBucket aims the cycle at a nested bucket, as for
// containerd's meta.db.
func TestCycleLoopNestedBucket(t *testing.T) {
	path := writeFixture(t)
	bucket := []string{"v1", "default", "containers"}
	res, err := CycleLoop().WithBucket(bucket...).WithPrefix("container-").Apply(path)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	t.Logf("%v", res)
	if r := runChild(t, "list", path, bucket, "container-"); r.code != exitLoop {
		t.Fatalf("listing the nested bucket: want a loop, got %v", r)
	}
	if r := runChild(t, "list", path, []string{DefaultBucket}, DefaultPrefix); r.code != exitIntact {
		t.Fatalf("listing libnetwork, untouched: %v", r)
	}
}

// TestDeterministic: the same seed writes the same bytes, another seed
// other bytes.
func TestDeterministic(t *testing.T) {
	fixture := writeFixture(t)
	apply := func(c Corruption) []byte {
		path := copyFile(t, fixture)
		if _, err := c.Apply(path); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, c := range Registry() {
		a, b := apply(c.WithSeed(7)), apply(c.WithSeed(7))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: seed 7 twice gave different files", c.Name())
		}
		orig, _ := os.ReadFile(fixture)
		if bytes.Equal(a, orig) {
			t.Errorf("%s: changed nothing", c.Name())
		}
	}
	for _, c := range []Corruption{FlipBytes(), MetaChecksums(), BadFreelist()} {
		if bytes.Equal(apply(c.WithSeed(1)), apply(c.WithSeed(2))) {
			t.Errorf("%s: seeds 1 and 2 gave the same file", c.Name())
		}
	}
}

// TestZeroPageOnlyWalkedInto: whatever the seed, the zeroed leaf is one that
// none of dockerd's listing lookups descends into (no listing prefix sorts
// between its first key and its successor's), so only a cursor walking on
// from an earlier leaf meets it. The fixture also has prefixed leaves a
// lookup does enter (where one network's endpoints end and the next's
// begin): 200 seeds drawing from every endpoint leaf would hit one of them
// all but surely, so the choice is tested, not given.
func TestZeroPageOnlyWalkedInto(t *testing.T) {
	fixture := writeFixture(t)
	f, fh, err := loadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	fh.Close()
	tg, err := locate(f, DefaultOptions(), true)
	if err != nil {
		t.Fatal(err)
	}
	lookups := []string{"docker/network/v1.0/network/", "docker/network/v1.0/endpoint_count/"}
	for _, n := range fixtureNetworks {
		lookups = append(lookups, networkPrefix(n.name))
	}
	enters := map[uint64][]string{} // leaf page -> the lookups descending into it
	leaves := tg.bucket.leaves
	for i, l := range leaves {
		for _, p := range lookups {
			if bytes.Compare(l.keys[0], []byte(p)) <= 0 && (i+1 == len(leaves) || bytes.Compare([]byte(p), leaves[i+1].keys[0]) < 0) {
				enters[l.id] = append(enters[l.id], p)
			}
		}
	}
	prefixedEntered := 0
	for _, l := range leaves {
		if len(enters[l.id]) > 0 && bytes.HasPrefix(l.keys[len(l.keys)-1], []byte(DefaultPrefix)) {
			prefixedEntered++
		}
	}
	if prefixedEntered == 0 {
		t.Fatalf("the fixture has no endpoint leaf a lookup enters: the test would prove nothing")
	}
	picked := map[uint64]bool{}
	for seed := uint64(1); seed <= 200; seed++ {
		res, err := ZeroPage().WithSeed(seed).Apply(copyFile(t, fixture))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		id := res.Pages[0]
		picked[id] = true
		if got := enters[id]; len(got) > 0 {
			t.Errorf("seed %d zeroed leaf page %d, which the lookup of %q descends into", seed, id, got)
		}
	}
	if len(picked) < 2 {
		t.Errorf("200 seeds zeroed only page(s) %v: the seed no longer picks the leaf", picked)
	}
}
