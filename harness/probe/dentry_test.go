package probe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

func TestParseDentryState(t *testing.T) {
	got, err := parseDentryState("61120\t59674\t45\t0\t7408\t0\n")
	if err != nil {
		t.Fatal(err)
	}
	want := DentryState{NrDentry: 61120, NrUnused: 59674, AgeLimit: 45, WantPages: 0, NrNegative: 7408}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "1 2 3 4 5", "1 2 3 4 5 6 7", "1 2 3 4 x 0", "-1 2 3 4 5 0"} {
		if _, err := parseDentryState(bad); err == nil {
			t.Errorf("parseDentryState(%q) accepted", bad)
		}
	}
	_, err = parseDentryState("1 2 3 4 x 0")
	if err == nil || !strings.Contains(err.Error(), "nr_negative") {
		t.Errorf("error %v does not name the bad field", err)
	}
}

// TestDentrySourceSeesNegativeDentries creates and unlinks new names and
// expects the machine-wide negative count to rise by about as many. Other
// processes churn too, so it asks for half.
func TestDentrySourceSeesNegativeDentries(t *testing.T) {
	src, err := Dentry()
	if err != nil {
		t.Fatal(err)
	}
	before, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	dir := t.TempDir()
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("neg-%d", i))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	after, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := after["dentry_negative"] - before["dentry_negative"]; d < n/2 {
		t.Errorf("dentry_negative rose by %.0f after %d create+unlink, want >= %d", d, n, n/2)
	}
	if after["dentry_total"] < after["dentry_negative"] {
		t.Errorf("dentry_total %.0f < dentry_negative %.0f", after["dentry_total"], after["dentry_negative"])
	}
}

const slabinfoFixture = `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
inode_cache        20580  21294    608   26    4 : tunables    0    0    0 : slabdata    819    819      0
dentry             61162  62349    192   21    1 : tunables    0    0    0 : slabdata   2969   2969      0
`

func TestSlabDentryFromFixture(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "slabinfo"), []byte(slabinfoFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	pfs, err := procfs.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	src := &SlabDentrySource{fs: pfs, pageSize: 4096}
	got, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got["slab_dentry_active_objs"] != 61162 || got["slab_dentry_bytes"] != 2969*4096 {
		t.Errorf("got %v, want 61162 objects and %d bytes", got, 2969*4096)
	}

	if err := os.WriteFile(filepath.Join(root, "slabinfo"), []byte(strings.Replace(slabinfoFixture, "dentry ", "dcache ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), `no "dentry" cache`) {
		t.Errorf("slabinfo without dentry: err = %v", err)
	}
}

func TestSlabDentryLive(t *testing.T) {
	if os.Geteuid() != 0 {
		_, err := SlabDentry()
		if err == nil || !strings.Contains(err.Error(), "root") {
			t.Fatalf("as non-root: err = %v, want one that says slabinfo needs root", err)
		}
		return
	}
	src, err := SlabDentry()
	if err != nil {
		t.Fatal(err)
	}
	v, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v["slab_dentry_active_objs"] <= 0 || v["slab_dentry_bytes"] < v["slab_dentry_active_objs"]*192 {
		t.Errorf("live dentry slab %v: want objects > 0 and bytes >= objects x 192", v)
	}
}
