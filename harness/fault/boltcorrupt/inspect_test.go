package boltcorrupt

import (
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestInspectAgreesWithBolt checks the page codec against bbolt itself on
// an intact file: the same active meta, bucket roots, key counts, depth and
// page counts.
func TestInspectAgreesWithBolt(t *testing.T) {
	path := writeFixture(t)
	rep, err := Inspect(path)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	t.Logf("%v", rep)
	if len(rep.Problems) > 0 {
		t.Fatalf("intact fixture has problems: %v", rep.Problems)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if got, want := rep.Metas[rep.Active].Txid, uint64(tx.ID()); got != want {
			t.Errorf("active meta txid %d, bbolt's tx %d", got, want)
		}
		if got, want := rep.PageSize, db.Info().PageSize; got != want {
			t.Errorf("page size %d, bbolt says %d", got, want)
		}
		for _, fb := range fixtureBuckets() {
			info, ok := rep.Bucket(fb.path...)
			if !ok {
				t.Errorf("bucket %v not in report", fb.path)
				continue
			}
			b := childBucket(tx, fb.path)
			st := b.Stats()
			if info.Root != uint64(b.Root()) || info.Keys != len(fb.pairs) || info.Keys != st.KeyN || info.Depth != st.Depth {
				t.Errorf("bucket %v: report root %d keys %d depth %d; bbolt root %d keys %d depth %d; fixture %d keys",
					fb.path, info.Root, info.Keys, info.Depth, b.Root(), st.KeyN, st.Depth, len(fb.pairs))
			}
			if info.Root != 0 && (len(info.BranchPages) != st.BranchPageN || len(info.LeafPages) != st.LeafPageN) {
				t.Errorf("bucket %v: report %d branch %d leaf pages, bbolt %d and %d",
					fb.path, len(info.BranchPages), len(info.LeafPages), st.BranchPageN, st.LeafPageN)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := rep.Bucket(DefaultBucket)
	if ln.Depth < 2 {
		t.Fatalf("fixture's libnetwork bucket has depth %d: it needs a branch page for the cycles", ln.Depth)
	}
	small, _ := rep.Bucket("small")
	if small.Root != 0 || small.InlineIn == 0 {
		t.Fatalf("fixture's small bucket is not inline: %+v", small)
	}
}

// TestInspectReportsDamage: Inspect names the damage each corruption does
// to the structure, without panicking or looping.
func TestInspectReportsDamage(t *testing.T) {
	fixture := writeFixture(t)
	tests := []struct {
		c    Corruption
		want string
	}{
		{Truncate(), "past the end of the file"},
		{ZeroPage(), "says it is page 0"},
		{LeafCount(), "do not fit"},
		{MetaChecksums(), "both meta pages are invalid"},
		{SelfCycle(), "referenced again"},
		{CycleLoop(), "referenced again"},
	}
	for _, tc := range tests {
		t.Run(tc.c.Name(), func(t *testing.T) {
			path := copyFile(t, fixture)
			if _, err := tc.c.Apply(path); err != nil {
				t.Fatalf("apply: %v", err)
			}
			rep, err := Inspect(path)
			if err != nil {
				t.Fatalf("inspect: %v", err)
			}
			if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Fatalf("want a problem containing %q, got:\n%v", tc.want, rep)
			}
		})
	}
	t.Run("meta-wrong-root", func(t *testing.T) {
		path := copyFile(t, fixture)
		before, err := Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := MetaWrongRoot().Apply(path); err != nil {
			t.Fatalf("apply: %v", err)
		}
		rep, err := Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		ln, _ := before.Bucket(DefaultBucket)
		if rep.Active < 0 || rep.Metas[rep.Active].Root != ln.Root {
			t.Fatalf("want the active meta's root at libnetwork's root page %d:\n%v", ln.Root, rep)
		}
		if _, ok := rep.Bucket(DefaultBucket); ok || len(rep.Problems) > 0 {
			t.Fatalf("want a clean file without the libnetwork bucket:\n%v", rep)
		}
	})
}
