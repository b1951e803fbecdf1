package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/workload"
)

func TestEveryIncidentIsWellFormed(t *testing.T) {
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cat := All()
	if len(cat) == 0 {
		t.Fatal("no incidents in the catalog")
	}
	for _, in := range cat {
		// The incident id is the key everywhere: its directory too.
		if _, err := os.Stat(filepath.Join(root, "scenarios", in.ID)); err != nil {
			t.Errorf("%s: no directory scenarios/%s: %v", in.ID, in.ID, err)
		}
		for _, img := range in.Images {
			if _, err := os.Stat(filepath.Join(root, "images", string(img))); err != nil {
				t.Errorf("%s: image %q has no directory under images/: %v", in.ID, img, err)
			}
		}
		if !strings.Contains(string(readme), "| `"+in.ID+"` |") {
			t.Errorf("%s: no row in README.md's track-record table", in.ID)
		}
		if in.Title == "" || in.Summary == "" || in.Affected == "" || in.Fixed == "" {
			t.Errorf("%s: title, summary, affected and fixed are what a reader needs first; fill them in", in.ID)
		}
		if in.Regression == "" && in.NotJudged == "" {
			t.Errorf("%s: no regression variant and no NotJudged reason: say why regression mode cannot judge it", in.ID)
		}
	}
}

func TestByIDNamesKnownIncidents(t *testing.T) {
	if _, err := All().ByID("containerd-huge-log-line"); err != nil {
		t.Fatal(err)
	}
	_, err := All().ByID("no-such-incident")
	if err == nil || !strings.Contains(err.Error(), "containerd-huge-log-line") || !strings.Contains(err.Error(), `"no-such-incident"`) {
		t.Fatalf("unknown id error %v: want it to name the bad id and list the known ones", err)
	}
}
