package live

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/calibrate"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/scenarios"
)

func TestIncidentHasOneVariantPerMultiple(t *testing.T) {
	in, err := Incident(DefaultMultiples)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]curve.Verdict{"null": curve.Hold, "leak-0-5x": curve.Hold, "leak-1x": curve.Hold, "leak-2x": curve.Breach, "leak-4x": curve.Breach}
	if len(in.Variants) != len(want) {
		t.Fatalf("%d variants, want %d", len(in.Variants), len(want))
	}
	for _, v := range in.Variants {
		if w, ok := want[v.Name]; !ok || v.Expect != w {
			t.Errorf("variant %s expects %s, want %s", v.Name, v.Expect, w)
		}
		if !v.RunToEnd {
			t.Errorf("%s stops early: the other rule sets' looks need the whole series", v.Name)
		}
		for _, b := range v.Budgets {
			if b.Kind != curve.Slope || b.Per != curve.PerOp || b.Warmup != warmupOps {
				t.Errorf("%s: budget %s, want a per-op slope after a %d-op warm-up", v.Name, b, warmupOps)
			}
		}
	}
	if in.Runtime != runtime.Dockerd {
		t.Errorf("runs on %s, want dockerd", in.Runtime)
	}
	for _, m := range [][]float64{{-1}, {2, 2}} {
		if _, err := Incident(m); err == nil {
			t.Errorf("multiples %v: no error", m)
		}
	}
}

// The calibration reproduces no incident: it stays out of the catalog, so
// out of make reproduce, make test and the track record.
func TestNotInTheCatalog(t *testing.T) {
	if slices.Contains(scenarios.All().IDs(), ID) {
		t.Errorf("%s is in the scenario catalog", ID)
	}
}

func TestArgsLeakTheMultipleOfEveryBudget(t *testing.T) {
	got := strings.Join(args(2, 7), " ")
	for _, want := range []string{"-goroutines 0.1 ", "-fds 0.1 ", "-bytes 32768 ", "-noise all ", "-step-at 60 ", "-seed 7"} {
		if !strings.Contains(got+" ", want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	if got := strings.Join(args(0, 1), " "); !strings.Contains(got, "-goroutines 0 -fds 0 -bytes 0 ") {
		t.Errorf("null args %q: want every rate 0", got)
	}
}

func TestPlanInterleavesRepetitions(t *testing.T) {
	p, err := Plan([]float64{0, 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range p.Items {
		names = append(names, it.Name())
		if it.Runtime != runtime.Dockerd {
			t.Errorf("%s on %s", it.Name(), it.Runtime)
		}
		if want := curve.Hold; strings.HasPrefix(it.Variant.Name, "leak-2x") {
			if it.Expect != curve.Breach {
				t.Errorf("%s expects %s", it.Name(), it.Expect)
			}
		} else if it.Expect != want {
			t.Errorf("%s expects %s", it.Name(), it.Expect)
		}
	}
	want := []string{"null-r01", "leak-2x-r01", "null-r02", "leak-2x-r02", "null-r03", "leak-2x-r03"}
	for i := range want {
		want[i] = ID + "/" + want[i]
	}
	if !slices.Equal(names, want) {
		t.Errorf("plan %v, want %v", names, want)
	}
	for _, bad := range []int{0, 100} {
		if _, err := Plan([]float64{0}, bad); err == nil {
			t.Errorf("%d runs: no error", bad)
		}
	}
	if _, err := Plan(nil, 1); err == nil {
		t.Error("no multiples: no error")
	}
}

// fakeRun is a recorded leaker run: goroutines growing at multiple times
// the budget over a plateau-like wobble, judged and filled the way the
// engine records a run.
func fakeRun(t *testing.T, multiple float64, seed, n int) (results.Result, []curve.Series) {
	t.Helper()
	in, err := Incident([]float64{multiple})
	if err != nil {
		t.Fatal(err)
	}
	v := in.Variants[0]
	budgets := v.Budgets[:1] // goroutines
	s := curve.Series{Metric: "leaker_goroutines", Unit: "goroutines", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}}}
	for i := 0; i < 250; i++ {
		tt := float64(i) / 10
		op := 0.0
		if tt > 1 {
			op = math.Floor((tt - 1) * opsPerSec)
		}
		wobble := math.Round(2 * math.Sin(float64(i+seed)*0.7))
		s.Points = append(s.Points, curve.Point{T: tt, Op: op, V: 30 + wobble + math.Floor(op*multiple*goroutineBudget)})
	}
	series := []curve.Series{s}
	res := results.Result{Incident: ID, Variant: fmt.Sprintf("%s-r%02d", v.Name, seed), Runtime: "dockerd", Expect: string(v.Expect),
		Started: time.Date(2026, 12, 1, 11, 0, n*40, 0, time.UTC), DurationS: 24,
		Extras: map[string]float64{ExtraMultiple: multiple}}
	judge.Fill(&res, judge.JudgeWith(curve.RulesV1, budgets, series), series)
	return res, series
}

func TestTallyRejudgesEveryRunUnderEveryRuleSet(t *testing.T) {
	dir := t.TempDir()
	store, err := results.Open(dir, "live", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for seed := 1; seed <= 3; seed++ {
		for _, m := range []float64{0, 4} {
			n++
			res, series := fakeRun(t, m, 2*seed+int(m), n)
			if err := store.Add(res, series); err != nil {
				t.Fatal(err)
			}
		}
	}
	broken := results.Result{Incident: ID, Variant: "leak-2x-r01", Runtime: "dockerd", Expect: "breach", Verdict: "inconclusive", Error: "starting the leaker: boom"}
	if err := store.Add(broken, nil); err != nil {
		t.Fatal(err)
	}
	other := results.Result{Incident: "some-incident", Variant: "x", Runtime: "dockerd", Expect: "hold", Verdict: "hold", OK: true}
	if err := store.Add(other, nil); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	l, err := Tally([]string{store.Dir()}, []curve.Rules{curve.RulesV1, curve.RulesV2})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Errors) != 1 || !strings.Contains(l.Errors[0], "boom") {
		t.Errorf("errors %v, want the broken run", l.Errors)
	}
	if l.Recorded != 6 || l.Agree != 6 {
		t.Errorf("the replay at the end agrees with %d of %d recorded verdicts, want 6 of 6", l.Agree, l.Recorded)
	}
	if len(l.Cells) != 2*2*2 {
		t.Fatalf("%d cells, want rules x sources x multiples = 8", len(l.Cells))
	}
	for _, c := range l.Cells {
		if c.N != 3 {
			t.Errorf("%s %s %gx: %d runs, want 3", c.Rules, c.Source, c.Multiple, c.N)
		}
		switch {
		case c.Multiple == 4 && c.Breach != 3:
			t.Errorf("%s %s at 4x: %d breaches of 3", c.Rules, c.Source, c.Breach)
		case c.Multiple == 0 && c.Breach != 0:
			t.Errorf("%s %s at 0x: %d false breaches", c.Rules, c.Source, c.Breach)
		}
		if c.Source == calibrate.LiveLooks && c.Multiple == 4 && c.Early != 3 {
			t.Errorf("%s at 4x: %d of 3 stopped early by the looks", c.Rules, c.Early)
		}
		if c.Source == calibrate.LiveAtEnd && c.Early != 0 {
			t.Errorf("%s judged at the end, yet %d stopped early", c.Rules, c.Early)
		}
	}
	if len(l.RunS) != 5 || l.RunS[0] != 40 || l.RunS[4] != 40 {
		t.Errorf("start-to-start times %v, want five of 40 s", l.RunS)
	}
	if len(l.Budgets) != 2*2 {
		t.Errorf("%d budget cells, want rules x budgets x multiples = 4", len(l.Budgets))
	}
	for _, c := range l.Budgets {
		if c.Source != "leaker_goroutines" || c.N != 3 || (c.Multiple == 4 && c.Breach != 3) {
			t.Errorf("budget cell %s %s %gx: %d breaches of %d", c.Rules, c.Source, c.Multiple, c.Breach, c.N)
		}
	}
	md := calibrate.Report{Live: &l}.Markdown()
	for _, want := range []string{"## Live runs", "| v2 | watcher's looks | 4x | 3 |", "- v1: 0 of 3", "boom", "| v1 | leaker_goroutines | 0 / 3 / 0 | 3 / 0 / 0 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Breach rate by true slope") {
		t.Errorf("a live-only report renders the replays' tables:\n%s", md)
	}
}

// Directories run at once count once toward the wall time, and the gap
// between two sessions' runs not at all.
func TestCoveredCountsOverlapsOnce(t *testing.T) {
	for _, tc := range []struct {
		spans [][2]float64
		want  float64
	}{
		{nil, 0},
		{[][2]float64{{0, 10}}, 10},
		{[][2]float64{{0, 10}, {5, 12}, {1, 3}}, 12},
		{[][2]float64{{100, 130}, {0, 10}}, 40},
	} {
		if got := covered(tc.spans); got != tc.want {
			t.Errorf("covered(%v) = %v, want %v", tc.spans, got, tc.want)
		}
	}
}
