package results_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

// TestMergePartsIsTheRunOneProcessWouldRecord records the sample run's
// variants in two parts, as two processes running side by side do, and
// checks the merged run: every result once, its directory copied, latest
// pointing at it, the parts gone, and the run id taken for good.
func TestMergePartsIsTheRunOneProcessWouldRecord(t *testing.T) {
	root := t.TempDir()
	dir, err := results.Claim(root, "night")
	if err != nil {
		t.Fatal(err)
	}
	sample := resultstest.Sample()
	for i, part := range []string{"p1", "p2"} {
		s, err := results.Open(filepath.Join(dir, results.PartsDir), part, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range sample {
			if j%2 != i {
				continue
			}
			if err := s.Add(v.Result, v.Series); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run, err := results.MergeParts(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != "night" || len(run.Results) != len(sample) || run.Finished.IsZero() {
		t.Fatalf("merged run %s with %d results, finished %s; want night with %d, finished", run.ID, len(run.Results), run.Finished, len(sample))
	}
	loaded, err := results.Load(filepath.Join(root, results.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID != "night" || len(loaded.Results) != len(sample) {
		t.Errorf("latest is run %s with %d results, want night with %d", loaded.ID, len(loaded.Results), len(sample))
	}
	for _, r := range run.Results {
		if _, err := os.Stat(filepath.Join(dir, r.Incident, results.VariantDirName(r.Variant, r.Cell), "result.json")); err != nil {
			t.Errorf("%s: %v", r.Name(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, results.PartsDir)); !os.IsNotExist(err) {
		t.Errorf("the parts are still there (%v)", err)
	}
	if _, err := results.Claim(root, "night"); err == nil || !strings.Contains(err.Error(), "already has a summary.json") {
		t.Errorf("claiming the merged run's id again: %v, want a refusal", err)
	}
}

// TestMergePartsWithoutAPartSaysSo: a run whose processes all died before
// recording anything has nothing to merge, and the error says where it
// looked.
func TestMergePartsWithoutAPartSaysSo(t *testing.T) {
	dir, err := results.Claim(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, results.PartsDir, "p1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := results.MergeParts(dir, nil); err == nil || !strings.Contains(err.Error(), "no part of run") {
		t.Errorf("merging parts without a summary: %v, want an error naming the run", err)
	}
}
