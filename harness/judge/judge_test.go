package judge_test

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

func TestJudgeBreachFillsPrimaryFromTheSlope(t *testing.T) {
	// The growth budget comes first, yet the slope is the headline.
	budgets := []curve.Budget{resultstest.RSSBudgets()[1], resultstest.RSSBudgets()[0]}
	series := []curve.Series{resultstest.RSS(1, 2, 52*resultstest.MiB)}
	j := judge.Judge(budgets, series)
	if j.Verdict != curve.Breach || len(j.Evaluations) != 2 {
		t.Fatalf("judgement %s with %d evaluations, want breach with 2", j.Verdict, len(j.Evaluations))
	}
	r := results.Result{Expect: string(curve.Breach)}
	judge.Fill(&r, j, series)
	if !r.OK || r.Verdict != string(curve.Breach) {
		t.Errorf("ok=%v verdict %s, want an ok breach", r.OK, r.Verdict)
	}
	if r.Metric != "containerd_rss_bytes" || r.BudgetKind != curve.Slope || r.SlopeUnit != "bytes/s" || r.Budget != 1*resultstest.MiB {
		t.Errorf("primary %s %s %s budget %g, want the slope budget in bytes/s", r.Metric, r.BudgetKind, r.SlopeUnit, r.Budget)
	}
	if r.Slope < 50*resultstest.MiB || r.Growth < 500*resultstest.MiB {
		t.Errorf("slope %g growth %g, want ~52 MiB/s over 18 s", r.Slope, r.Growth)
	}
}

// OK is the judge's to decide: a claim of ok with the wrong verdict, or
// with an error, is overruled.
func TestFillOverrulesAClaimedOK(t *testing.T) {
	series := []curve.Series{resultstest.RSS(2, 2, 0)}
	j := judge.Judge(resultstest.RSSBudgets(), series)
	if j.Verdict != curve.Hold {
		t.Fatalf("flat curve judged %s, want hold", j.Verdict)
	}
	liar := results.Result{Expect: string(curve.Breach), OK: true}
	judge.Fill(&liar, j, series)
	if liar.OK {
		t.Errorf("hold on an expected breach filled as ok")
	}
	failed := results.Result{Expect: string(curve.Hold), OK: true, Error: "drive: connection refused"}
	judge.Fill(&failed, j, series)
	if failed.OK {
		t.Errorf("a result with an error filled as ok")
	}
}

func TestNothingJudgedIsInconclusive(t *testing.T) {
	j := judge.Judge(nil, []curve.Series{resultstest.RSS(3, 2, 0)})
	if j.Verdict != curve.Inconclusive {
		t.Errorf("no budgets gave %s, want inconclusive", j.Verdict)
	}
	r := results.Result{Expect: string(curve.Hold)}
	judge.Fill(&r, j, nil)
	if r.OK || r.Metric != "" {
		t.Errorf("no budgets filled ok=%v metric %q", r.OK, r.Metric)
	}
	if _, ok := judge.Primary(nil); ok {
		t.Errorf("Primary of no evaluations reported one")
	}
}
