package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/workload"
)

func TestEveryScenarioIsWellFormed(t *testing.T) {
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(All()) == 0 {
		t.Fatal("no scenarios registered")
	}
	for _, s := range All() {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
		for _, img := range s.Images {
			if _, err := os.Stat(filepath.Join(root, "images", img)); err != nil {
				t.Errorf("%s: image %q has no directory under images/: %v", s.ID, img, err)
			}
		}
		// The incident id is the key of the README's track-record table.
		if !strings.Contains(string(readme), "| `"+s.ID+"` |") {
			t.Errorf("%s: no row in README.md's track-record table", s.ID)
		}
		if s.Title == "" || s.Summary == "" || s.Affected == "" || s.Fixed == "" {
			t.Errorf("%s: title, summary, affected and fixed are what a reader needs first; fill them in", s.ID)
		}
	}
}

func TestByIDNamesKnownIncidents(t *testing.T) {
	if _, err := ByID("containerd-huge-log-line"); err != nil {
		t.Fatal(err)
	}
	_, err := ByID("no-such-incident")
	if err == nil || !strings.Contains(err.Error(), "containerd-huge-log-line") || !strings.Contains(err.Error(), `"no-such-incident"`) {
		t.Fatalf("unknown id error %v: want it to name the bad id and list the known ones", err)
	}
}
