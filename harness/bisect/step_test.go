package bisect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

var slope = curve.Budget{Metric: "toyd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 1}

// result is a judged run with one slope budget fitted at [lo, hi].
func result(verdict curve.Verdict, lo, mid, hi float64) results.Result {
	fit := &curve.Fit{Slope: mid, Lo: lo, Hi: hi, N: 40}
	return results.Result{Verdict: string(verdict), Metric: slope.Metric, Slope: mid, Budget: slope.Max, Evaluations: []curve.Evaluation{
		{Budget: slope, Verdict: verdict, Measured: mid, Fit: fit, Certain: lo > slope.Max},
	}}
}

func TestUncertain(t *testing.T) {
	for name, c := range map[string]struct {
		r    results.Result
		want string
	}{
		"certain breach":     {result(curve.Breach, 3, 4, 5), ""},
		"breach CI over":     {result(curve.Breach, 0.5, 1.5, 3), "no breaching budget is certain"},
		"clear hold":         {result(curve.Hold, -0.1, 0, 0.2), ""},
		"hold CI straddles":  {result(curve.Hold, 0.2, 0.8, 1.6), "straddles the budget 1"},
		"hold without a fit": {results.Result{Verdict: "hold", Evaluations: []curve.Evaluation{{Budget: slope, Verdict: curve.Hold}}}, "no slope fitted"},
		"inconclusive":       {results.Result{Verdict: "inconclusive"}, "inconclusive"},
		"run failed":         {results.Result{Verdict: "inconclusive", Error: "sandbox\nfailed"}, "no verdict: sandbox failed"},
	} {
		if got := Uncertain(c.r); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: Uncertain = %q, want %q", name, got, c.want)
		}
	}
}

// runDir makes a variant directory with a result.json, as the engine does.
func runDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run", "toyd", "leak@c1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, results.ResultFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStepperRunsAgainWhenUncertainAndCaches(t *testing.T) {
	cache, err := NewCache(t.TempDir(), "toyd", "leak", []curve.Budget{slope})
	if err != nil {
		t.Fatal(err)
	}
	dir := runDir(t)
	runs := []results.Result{result(curve.Hold, 0.2, 0.8, 1.6), result(curve.Hold, -0.1, 0, 0.2)}
	st := Stepper{
		Build: func(context.Context, string) (string, error) { return "build-c1", nil },
		Run: func(context.Context, string, string) (results.Result, string, error) {
			r := runs[0]
			runs = runs[1:]
			return r, dir, nil
		},
		Cache: cache,
	}
	s, err := st.Judge(context.Background(), "c1")
	if err != nil || s.Verdict != curve.Hold || s.Skip != "" || strings.Join(s.Runs, " ") != "hold hold" {
		t.Fatalf("step %+v (%v), want hold after two runs", s, err)
	}
	// The second judgement comes from the cache: no build, no run.
	st.Build = func(context.Context, string) (string, error) { return "", errors.New("must not build") }
	again, err := st.Judge(context.Background(), "c1")
	if err != nil || !again.Cached || again.Verdict != curve.Hold || again.Result != dir {
		t.Errorf("second judgement %+v (%v), want the cached hold", again, err)
	}
	// Another budget is another cache: judged again.
	other, _ := NewCache(filepath.Dir(filepath.Dir(cache.Dir())), "toyd", "leak", []curve.Budget{{Metric: "x", Kind: curve.Slope, Per: curve.PerOp, Max: 2}})
	if _, ok := other.Load("c1"); ok {
		t.Errorf("a step cached under other budgets was reused")
	}
}

func TestStepperSkipsWhatCannotBeJudged(t *testing.T) {
	st := Stepper{
		Build: func(_ context.Context, c string) (string, error) {
			if c == "broken" {
				return "", errors.New("go build: syntax error")
			}
			return c, nil
		},
		Run: func(context.Context, string, string) (results.Result, string, error) {
			return results.Result{Verdict: "inconclusive"}, "", nil
		},
	}
	s, err := st.Judge(context.Background(), "broken")
	if err != nil || !strings.Contains(s.Skip, "build failed: go build: syntax error") {
		t.Errorf("broken build: %+v (%v)", s, err)
	}
	s, err = st.Judge(context.Background(), "flat")
	if err != nil || !strings.Contains(s.Skip, "run 2: inconclusive") || len(s.Runs) != 2 {
		t.Errorf("two inconclusive runs: %+v (%v), want a skip after 2 runs", s, err)
	}
}
