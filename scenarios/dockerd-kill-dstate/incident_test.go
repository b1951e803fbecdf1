package dockerdkilldstate

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
	if in.ID != "dockerd-kill-dstate" {
		t.Errorf("id %q, want the directory's name dockerd-kill-dstate", in.ID)
	}
	want := []struct {
		name     string
		expect   curve.Verdict
		version  string
		affected string
	}{
		{"dstate", curve.Hold, "", "<20.10.10"},
		{"dstate-20-10-5", curve.Breach, "20.10.5", "<20.10.10"},
		{"dstate-sidecar", curve.Hold, "", "<20.10.10"},
		{"control", curve.Hold, "", ""},
	}
	if len(in.Variants) != len(want) {
		t.Fatalf("%d variants, want %d", len(in.Variants), len(want))
	}
	for i, w := range want {
		v := in.Variants[i]
		if v.Name != w.name || v.Expect != w.expect || v.Sandbox.Version != w.version || v.Affected.String() != w.affected {
			t.Errorf("variant %d: %s expects %s on %q affected %q, want %s expects %s on %q affected %q",
				i, v.Name, v.Expect, v.Sandbox.Version, v.Affected, w.name, w.expect, w.version, w.affected)
		}
		if v.Case == nil {
			t.Errorf("%s has no Case", v.Name)
		}
		// The settle phase is the evidence that tells a leak from a
		// plateau: no variant may stop early.
		if !v.RunToEnd || len(v.Budgets) != 6 {
			t.Errorf("%s: RunToEnd %v with %d budgets, want true with the 6 kill-loop budgets", v.Name, v.RunToEnd, len(v.Budgets))
		}
	}
	if reg, ok := in.Variant(in.Regression); in.Regression != "dstate" || !ok || reg.Expect != curve.Hold {
		t.Errorf("regression variant %q must be dstate and hold", in.Regression)
	}
}

func TestLoopExtrasComeFromTheJudgement(t *testing.T) {
	bs := budgets()
	evals := []curve.Evaluation{
		{Budget: bs[0], Verdict: curve.Breach, Measured: 1.96},
		{Budget: bs[1], Verdict: curve.Breach, Measured: 1.0},
		{Budget: bs[2], Verdict: curve.Breach, Measured: 80},
		{Budget: bs[3], Verdict: curve.Inconclusive},
		{Budget: bs[4], Verdict: curve.Breach, Measured: 78},
		{Budget: bs[5], Verdict: curve.Breach, Measured: 39},
	}
	got := loopExtras(evals)
	want := map[string]float64{
		"goroutines_per_op": 1.96, "fds_per_op": 1.0,
		"inflight_peak_goroutines": 80,
		"residual_goroutines":      78, "residual_fds": 39,
	}
	if len(got) != len(want) {
		t.Errorf("extras %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %g, want %g (all: %v)", k, got[k], v, got)
		}
	}
}
