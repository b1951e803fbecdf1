package containerdexecsyncdrainleak

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/incident/incidenttest"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	want := map[string]struct {
		expect  curve.Verdict
		version string
		timeout any
	}{
		"vulnerable":     {curve.Breach, "2.3.4", nil},
		"fixed":          {curve.Hold, "2.3.5", nil},
		"drain-timeout":  {curve.Hold, "2.3.4", "2s"},
		"vulnerable-1-7": {curve.Breach, "1.7.34", nil},
		"fixed-1-7":      {curve.Hold, "1.7.35", nil},
		"probe-loop":     {curve.Breach, "", nil},
	}
	if len(in.Variants) != len(want) {
		t.Fatalf("variants %d, want %d", len(in.Variants), len(want))
	}
	for _, v := range in.Variants {
		w := want[v.Name]
		if v.Expect != w.expect || v.Sandbox.Version != w.version || v.Sandbox.Containerd.CRI["drain_exec_sync_io_timeout"] != w.timeout {
			t.Errorf("%s: expect %s on %s with drain timeout %v; want %s on %s with %v",
				v.Name, v.Expect, v.Sandbox.Version, v.Sandbox.Containerd.CRI["drain_exec_sync_io_timeout"], w.expect, w.version, w.timeout)
		}
		if !v.RunToEnd {
			t.Errorf("%s stops early: the settle is what tells a leak from calls still draining", v.Name)
		}
	}
	// The regression variant runs on a vulnerable build with a knob the
	// user's config replaces: a config is what it judges.
	reg, ok := in.Variant(in.Regression)
	if !ok || reg.Expect != curve.Hold || reg.Sandbox.Containerd.CRI == nil {
		t.Errorf("regression variant %q must exist, hold, and hold by configuration", in.Regression)
	}
}

// TestSettleOutlastsTheFixedDrain: the fixed build releases a call up to
// deadline + 10 s after it started (the shim's wait when deleting the
// exec); the residual's window must start after that.
func TestSettleOutlastsTheFixedDrain(t *testing.T) {
	const shimWait = 10
	if start := settle.Seconds() - settleWindow; start < deadline.Seconds()+shimWait {
		t.Errorf("residual window starts %gs into the settle, before a fixed build's drain ends (%gs)", start, deadline.Seconds()+shimWait)
	}
}

// TestProbeLoopExpectsPerReleaseLine: the unpinned variant (a matrix sweeps
// it; TestIncidentIsWellFormed checks it pins nothing) expects the
// breach on the builds the matrix measured leaking and a hold on the fixed
// ones, each release line on its own (1.6.20, 1.7.24 and 2.2.4 breached;
// 2.0.14, Debian's 2.1.9, 2.3.5 and 2.4.2 held).
func TestProbeLoopExpectsPerReleaseLine(t *testing.T) {
	incidenttest.ExpectOn(t, Incident(), "probe-loop", map[string]curve.Verdict{
		"1.6.20": curve.Breach, "1.7.24": curve.Breach, "1.7.34": curve.Breach, "1.7.35": curve.Hold,
		"2.0.11": curve.Breach, "2.0.12": curve.Hold, "2.0.14": curve.Hold,
		"2.1.0": curve.Breach, "2.1.8": curve.Breach, "2.1.9": curve.Hold,
		"2.2.4": curve.Breach, "2.2.7": curve.Breach, "2.2.8": curve.Hold,
		"2.3.4": curve.Breach, "2.3.5": curve.Hold, "2.4.2": curve.Hold,
	})
}
