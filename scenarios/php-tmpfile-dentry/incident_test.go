package phptmpfiledentry

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	if in.ID != "php-tmpfile-dentry" {
		t.Errorf("id %q, want the directory's name php-tmpfile-dentry", in.ID)
	}
	want := []struct {
		name    string
		expect  curve.Verdict
		runtime runtime.Kind
	}{
		{"tmp-in-image", curve.Breach, runtime.Dockerd},
		{"tmpfs-tmp", curve.Hold, runtime.Dockerd},
		{"small-bodies", curve.Hold, runtime.Dockerd},
		{"cri-tmp-in-image", curve.Breach, runtime.Containerd},
		{"cri-small-bodies", curve.Hold, runtime.Containerd},
	}
	if len(in.Variants) != len(want) {
		t.Fatalf("%d variants, want %d", len(in.Variants), len(want))
	}
	for i, w := range want {
		v := in.Variants[i]
		if v.Name != w.name || v.Expect != w.expect || in.RuntimeOf(v) != w.runtime {
			t.Errorf("variant %d: %s expects %s on %s, want %s expects %s on %s",
				i, v.Name, v.Expect, in.RuntimeOf(v), w.name, w.expect, w.runtime)
		}
		if v.Case == nil {
			t.Errorf("%s has no Case", v.Name)
		}
		if len(v.Budgets) != 3 || v.Budgets[0].Metric != kmemMetric {
			t.Errorf("%s: budgets %v, want the 3 per-request slopes led by %s", v.Name, v.Budgets, kmemMetric)
		}
	}
	// No runtime setting or version fixes a kernel accounting effect, so
	// regression mode has nothing to judge; the declaration must say why.
	if in.Regression != "" || in.NotJudged == "" {
		t.Errorf("regression %q, not judged %q: want no regression variant and a reason", in.Regression, in.NotJudged)
	}
}

func TestExtrasTieKmemToDentries(t *testing.T) {
	// 200 B of kmem and one negative dentry per request after warm-up.
	var neg curve.Series
	neg.Metric = negativeMetric
	neg.Phases = []curve.Phase{{Name: curve.PhaseStimulus, T: 1}, {Name: curve.PhaseSettle, T: 40}}
	for i := 0; i < 60; i++ {
		op := float64(i * 1000)
		neg.Points = append(neg.Points, curve.Point{T: 1 + float64(i), Op: op, V: 5000 + op})
	}
	kmem := curve.Evaluation{
		Budget: budgets()[0], Verdict: curve.Breach, Measured: 200,
		Fit: &curve.Fit{Slope: 200, N: 30},
	}
	got := (&uploading{}).Extras([]curve.Series{neg}, []curve.Evaluation{kmem})
	if got["kmem_bytes_per_request"] != 200 {
		t.Errorf("kmem_bytes_per_request %g, want the judgement's 200", got["kmem_bytes_per_request"])
	}
	if d := got["negative_dentries_per_request"]; d < 0.99 || d > 1.01 {
		t.Errorf("negative_dentries_per_request %g, want 1", d)
	}
}

// The load's count floor: the warm-up plus (a tenth more than) the span over
// which 50 B/request passes pod memory's 912 KiB resolution. The host's 30k
// requests pass it.
func TestNeededRequests(t *testing.T) {
	if n := needed(); n != warmup+20546 || n > requests {
		t.Fatalf("needed() = %d, want %d and within the %d requests a run sends", n, warmup+20546, requests)
	}
}
