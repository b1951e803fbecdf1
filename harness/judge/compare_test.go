package judge_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
	"github.com/relapse-dev/relapse/harness/runtime"
)

func evalOf(t *testing.T, p judge.Pair, kind curve.Kind) judge.EvalDelta {
	t.Helper()
	for _, e := range p.Evals {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("pair %s/%s has no %s evaluation: %+v", p.Incident, p.Variant, kind, p.Evals)
	return judge.EvalDelta{}
}

func TestCompareHoldThatBreachesRegresses(t *testing.T) {
	base, _ := resultstest.WriteRun(t, "base", resultstest.Measure("sample-log-growth", "default", "1.7.17", curve.Hold, resultstest.RSS(1, 2, 0)))
	cand, _ := resultstest.WriteRun(t, "cand", resultstest.Measure("sample-log-growth", "default", "1.7.18", curve.Hold, resultstest.RSS(2, 3, 52*resultstest.MiB)))

	c := judge.Compare(base, cand)
	p := resultstest.OnlyPair(t, c)
	if !p.Regressed || c.Regressions != 1 {
		t.Fatalf("regressed=%v regressions=%d, want a regression: %+v", p.Regressed, c.Regressions, p)
	}
	if want := "held on 1.7.17, breaches on 1.7.18"; p.Change != want {
		t.Errorf("change %q, want %q", p.Change, want)
	}
	slope := evalOf(t, p, curve.Slope)
	if !slope.Regressed || slope.Base.Verdict != curve.Hold || slope.Candidate.Verdict != curve.Breach {
		t.Errorf("slope delta %+v: want hold -> breach, regressed", slope)
	}
	if !slope.Base.HasFit || !slope.Candidate.HasFit || slope.Candidate.Lo <= slope.Base.Hi {
		t.Errorf("slope bounds not carried: base %+v candidate %+v", *slope.Base, *slope.Candidate)
	}
	if slope.Unit != "bytes/s" || slope.Budget != 1*resultstest.MiB {
		t.Errorf("slope unit %q budget %g, want bytes/s and 1 MiB", slope.Unit, slope.Budget)
	}
	if math.Abs(slope.Candidate.Measured-52*resultstest.MiB) > 2*resultstest.MiB {
		t.Errorf("candidate slope %g, want ~52 MiB/s", slope.Candidate.Measured)
	}
	joined := strings.Join(p.Reasons, "\n")
	for _, want := range []string{"ok on 1.7.17", "failed on 1.7.18", "containerd_rss_bytes slope: held on 1.7.17, breaches on 1.7.18"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons %q lack %q", joined, want)
		}
	}
	table := report.ComparisonTable(c)
	if !strings.HasSuffix(table, "\n1 regressed, 1 compared\n") {
		t.Errorf("table does not end with the counts line:\n%s", table)
	}
	for _, want := range []string{"containerd 1.7.17 -> containerd 1.7.18", "REGRESSED", "held on 1.7.17, breaches on 1.7.18"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	// The reverse direction is a fix, not a regression.
	back := judge.Compare(cand, base)
	if p := resultstest.OnlyPair(t, back); p.Regressed || back.Regressions != 0 || p.Change != "breached on 1.7.18, holds on 1.7.17" {
		t.Errorf("reverse comparison: regressed=%v change %q", p.Regressed, p.Change)
	}
}

func TestCompareSlopeThatGrewRegressesOnlyWhenItMatters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		base, cand  float64 // growth rates in bytes/s, all under the 1 MiB/s budget
		wantGrew    bool
		wantChanged string
	}{
		{"grew past half the budget", 0, 0.8 * resultstest.MiB, true, "holds on both (1.7.17, 1.7.18), slope grew"},
		{"grew but far below half the budget", 0, 0.2 * resultstest.MiB, false, "holds on both (1.7.17, 1.7.18)"},
		{"same slope", 0.7 * resultstest.MiB, 0.7 * resultstest.MiB, false, "holds on both (1.7.17, 1.7.18)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := resultstest.WriteRun(t, "base", resultstest.Measure("i", "fixed", "1.7.17", curve.Hold, resultstest.RSS(3, 2, tc.base)))
			cand, _ := resultstest.WriteRun(t, "cand", resultstest.Measure("i", "fixed", "1.7.18", curve.Hold, resultstest.RSS(4, 2, tc.cand)))
			c := judge.Compare(base, cand)
			p := resultstest.OnlyPair(t, c)
			slope := evalOf(t, p, curve.Slope)
			if slope.Base.Verdict != curve.Hold || slope.Candidate.Verdict != curve.Hold {
				t.Fatalf("test data must hold on both: %+v %+v", *slope.Base, *slope.Candidate)
			}
			if slope.Grew != tc.wantGrew || slope.Regressed != tc.wantGrew || p.Regressed != tc.wantGrew {
				t.Errorf("grew=%v regressed=%v pair regressed=%v, want %v (base %+v, candidate %+v)",
					slope.Grew, slope.Regressed, p.Regressed, tc.wantGrew, *slope.Base, *slope.Candidate)
			}
			if slope.Change != tc.wantChanged {
				t.Errorf("change %q, want %q", slope.Change, tc.wantChanged)
			}
			if tc.wantGrew && !strings.Contains(strings.Join(p.Reasons, ""), "grew") {
				t.Errorf("reasons %q do not say the slope grew", p.Reasons)
			}
		})
	}
}

func TestCompareVulnerableVariant(t *testing.T) {
	// A variant that must breach: a faster breach is no regression (its
	// slope is past every budget on both), but no longer reproducing is.
	base, _ := resultstest.WriteRun(t, "base", resultstest.Measure("i", "unlimited", "1.7.17", curve.Breach, resultstest.RSS(5, 2, 30*resultstest.MiB)))
	faster, _ := resultstest.WriteRun(t, "faster", resultstest.Measure("i", "unlimited", "1.7.18", curve.Breach, resultstest.RSS(6, 2, 60*resultstest.MiB)))
	c := judge.Compare(base, faster)
	if p := resultstest.OnlyPair(t, c); p.Regressed || c.Regressions != 0 {
		t.Errorf("faster breach of a vulnerable variant counted as a regression: %+v", p)
	}
	if s := evalOf(t, resultstest.OnlyPair(t, c), curve.Slope); !s.Grew {
		t.Errorf("the slope did grow and the delta should say so: %+v", s)
	}

	flat, _ := resultstest.WriteRun(t, "flat", resultstest.Measure("i", "unlimited", "1.7.18", curve.Breach, resultstest.RSS(7, 2, 0)))
	c = judge.Compare(base, flat)
	p := resultstest.OnlyPair(t, c)
	if !p.Regressed || c.Regressions != 1 {
		t.Fatalf("a vulnerable variant that stopped reproducing must regress: %+v", p)
	}
	if p.Change != "breached on 1.7.17, holds on 1.7.18" {
		t.Errorf("change %q", p.Change)
	}
}

// In a matrix, a hold variant is expected to breach on versions before its
// fix. Going from the fixed version back to one before the fix is still a
// regression (both sides are "ok" against their own expectation); going
// forward to the fix is not.
func TestCompareBackToAVersionBeforeTheFixRegresses(t *testing.T) {
	fixed, _ := resultstest.WriteRun(t, "fixed", resultstest.Measure("i", "dstate", "20.10.24", curve.Hold, resultstest.RSS(8, 2, 0)))
	before, _ := resultstest.WriteRun(t, "before", resultstest.Measure("i", "dstate", "20.10.5", curve.Breach, resultstest.RSS(9, 2, 30*resultstest.MiB)))
	c := judge.Compare(fixed, before)
	if p := resultstest.OnlyPair(t, c); !p.Regressed || c.Regressions != 1 || p.Change != "held on 20.10.24, breaches on 20.10.5" {
		t.Errorf("fixed -> before the fix: regressed %v (%d), change %q; want a regression", p.Regressed, c.Regressions, p.Change)
	}
	c = judge.Compare(before, fixed)
	if p := resultstest.OnlyPair(t, c); p.Regressed || c.Regressions != 0 || p.Change != "breached on 20.10.5, holds on 20.10.24" {
		t.Errorf("before the fix -> fixed: regressed %v (%d), change %q; want the fix shown, no regression", p.Regressed, c.Regressions, p.Change)
	}
}

func TestComparePairsMatrixRunsByIncidentAndVariant(t *testing.T) {
	res := func(variant, version, verdict string) results.Result {
		return results.Result{Incident: "i", Variant: variant, Runtime: "containerd", Version: version, Expect: "hold", Verdict: verdict, OK: verdict == "hold"}
	}
	// Results in non-version order on purpose.
	base := results.Run{ID: "b", Results: []results.Result{res("v", "2.0.14", "hold"), res("v", "1.7.9", "hold"), res("v", "1.6.20", "hold"), res("gone", "1.6.20", "hold"), res("gone-bad", "1.6.20", "breach")}}
	cand := results.Run{ID: "c", Results: []results.Result{res("v", "1.7.18", "breach"), res("v", "2.0.14", "hold"), res("new", "2.0.14", "hold")}}
	c := judge.Compare(base, cand)

	var got []string
	for _, p := range c.Pairs {
		got = append(got, p.Variant+":"+p.Base.Version+"->"+p.Candidate.Version)
	}
	// 2.0.14 pairs with itself; the rest pair in version order (1.6.20 is
	// older than 1.7.9, which is older than 1.7.18), leaving 1.7.9 over.
	want := []string{"v:1.6.20->1.7.18", "v:2.0.14->2.0.14"}
	if !slices.Equal(got, want) {
		t.Errorf("pairs %v, want %v", got, want)
	}
	if p := c.Pairs[0]; p.Change != "held on 1.6.20, breaches on 1.7.18" || !p.Regressed {
		t.Errorf("matrix pair: change %q regressed %v", p.Change, p.Regressed)
	}
	if p := c.Pairs[1]; p.Change != "holds on both" || p.Regressed {
		t.Errorf("same-version pair: change %q regressed %v", p.Change, p.Regressed)
	}
	var only []string
	for _, s := range c.OnlyBase {
		only = append(only, s.Variant+"@"+s.Version)
	}
	if want := []string{"v@1.7.9", "gone@1.6.20", "gone-bad@1.6.20"}; !slices.Equal(only, want) {
		t.Errorf("only in base %v, want %v", only, want)
	}
	if len(c.OnlyCandidate) != 1 || c.OnlyCandidate[0].Variant != "new" {
		t.Errorf("only in candidate %+v, want new", c.OnlyCandidate)
	}
	// 1.6.20 -> 1.7.18 regressed; v@1.7.9 and gone were ok in base and are
	// missing; gone-bad was failing anyway.
	if c.Regressions != 3 {
		t.Errorf("regressions %d, want 3", c.Regressions)
	}
	table := report.ComparisonTable(c)
	for _, want := range []string{"regressed: missing from the candidate (ok in base): i/gone", "only in base: i/gone-bad", "only in candidate: i/new", "3 regressed, 2 compared"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestCompareVersionsOrder(t *testing.T) {
	in := []string{"2.0.14", "1.7.18", "", "1.7.9", "20.10.5", "1.6.20~ds1", "2.0.0"}
	slices.SortFunc(in, runtime.CompareVersions)
	want := []string{"", "1.6.20~ds1", "1.7.9", "1.7.18", "2.0.0", "2.0.14", "20.10.5"}
	if !slices.Equal(in, want) {
		t.Errorf("sorted %v, want %v", in, want)
	}
}
