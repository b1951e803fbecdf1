package containerdhugelogline

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	want := map[string]curve.Verdict{"unlimited": curve.Breach, "default": curve.Hold}
	if len(in.Variants) != len(want) {
		t.Fatalf("variants %d, want %d", len(in.Variants), len(want))
	}
	for _, v := range in.Variants {
		if want[v.Name] != v.Expect {
			t.Errorf("%s expects %s, want %s", v.Name, v.Expect, want[v.Name])
		}
		if _, ok := v.Sandbox.Containerd.CRI["max_container_log_line_size"]; !ok {
			t.Errorf("%s does not set max_container_log_line_size: the incident is that knob", v.Name)
		}
	}
	if reg, ok := in.Variant(in.Regression); !ok || reg.Expect != curve.Hold {
		t.Errorf("regression variant %q must exist and hold", in.Regression)
	}
}
