package boltcorrupt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestByName(t *testing.T) {
	want := []string{"truncate", "zero-page", "flip-bytes", "leaf-count", "bad-freelist", "meta-wrong-root", "meta-checksums", "self-cycle", "cycle-loop"}
	if got := Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		c, err := ByName(name)
		if err != nil {
			t.Fatalf("ByName(%q): %v", name, err)
		}
		if c.Name() != name || c.Description() == "" {
			t.Errorf("ByName(%q) = %q with description %q", name, c.Name(), c.Description())
		}
		if o := c.Options(); len(o.Bucket) != 1 || o.Bucket[0] != DefaultBucket || o.Prefix != DefaultPrefix || o.Seed != DefaultSeed {
			t.Errorf("%s: default options %+v", name, o)
		}
	}
	_, err := ByName("cycle")
	if err == nil || !strings.Contains(err.Error(), `"cycle"`) || !strings.Contains(err.Error(), strings.Join(want, ", ")) {
		t.Fatalf("ByName(unknown) error should name the input and every valid name, got %v", err)
	}
}

func TestWithOptionsCopies(t *testing.T) {
	a := CycleLoop()
	b := a.WithBucket("v1", "default").WithPrefix("x").WithSeed(9)
	if o := a.Options(); o.Bucket[0] != DefaultBucket || o.Prefix != DefaultPrefix || o.Seed != DefaultSeed {
		t.Fatalf("With* changed the original: %+v", o)
	}
	if o := b.Options(); strings.Join(o.Bucket, "/") != "v1/default" || o.Prefix != "x" || o.Seed != 9 {
		t.Fatalf("With* did not apply: %+v", o)
	}
}

// TestTargetErrors: aiming at something the file lacks fails with an error
// that says what the file holds, and leaves the file untouched.
func TestTargetErrors(t *testing.T) {
	fixture := writeFixture(t)
	orig, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    Corruption
		want []string
	}{
		{"unknown prefix", CycleLoop().WithPrefix("docker/network/v1.0/nothing/"),
			[]string{`no leaf under bucket libnetwork with keys prefixed "docker/network/v1.0/nothing/"`, "the store has buckets: libnetwork (", "v1/default/containers ("}},
		{"unknown prefix zero-page", ZeroPage().WithPrefix("zzz"),
			[]string{`no leaf under bucket libnetwork with keys prefixed "zzz"`, "its first key is"}},
		{"unknown bucket", LeafCount().WithBucket("containerd"),
			[]string{"no bucket containerd; the store has buckets:", "libnetwork (", "small ("}},
		{"inline bucket", ZeroPage().WithBucket("small").WithPrefix(""),
			[]string{"bucket small is inline", "put more data in it"}},
		{"no bucket", FlipBytes().WithBucket(), []string{"no target bucket"}},
		{"single leaf for a cycle", CycleLoop().WithBucket("v1").WithPrefix(""),
			[]string{"bucket v1 has a single leaf page", "a cycle needs a branch page"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Apply(fixture)
			if err == nil {
				t.Fatalf("%v: want an error", tc.c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if now, _ := os.ReadFile(fixture); !bytes.Equal(now, orig) {
				t.Fatalf("a failed Apply changed the file")
			}
		})
	}
}

// TestApplyRefusesOpenStore: a store a live bbolt holds read-write is not
// touched.
func TestApplyRefusesOpenStore(t *testing.T) {
	path := writeFixture(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = CycleLoop().Apply(path)
	if err == nil || !strings.Contains(err.Error(), "stop the runtime") {
		t.Fatalf("want a locked-file error, got %v", err)
	}
}

func TestApplyNotBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xAB}, 16384), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := MetaChecksums().Apply(path); err == nil || !strings.Contains(err.Error(), "not a bbolt file") {
		t.Fatalf("want a not-bbolt error, got %v", err)
	}
	if _, err := Inspect(path); err == nil || !strings.Contains(err.Error(), "not a bbolt file") {
		t.Fatalf("Inspect: want a not-bbolt error, got %v", err)
	}
}
