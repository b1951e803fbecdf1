// Package resultstest makes results shaped like real runs, for the tests
// of the packages that store, judge and render them.
package resultstest

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Variant is one variant's made-up run, judged by the real judge.
type Variant struct {
	Result results.Result
	Series []curve.Series
}

// Sample builds variants shaped like the incidents relapse reproduces: a
// log-growth breach and hold (bytes per second), and a call loop whose
// goroutines plateau and drain (per-op slope, residual). They are judged
// by curve.DefaultRules, as a default run is, so their slope windows
// (after the warm-up, before the settle) last 18 s and 20 s: 6 or more
// blocks of 2 s, which RulesV3 needs to bound a slope at all.
func Sample() []Variant {
	rng := rand.New(rand.NewPCG(1, 2))
	const mib = 1 << 20

	logLine := func(grow bool) curve.Series {
		s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
			Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 2}, {Name: curve.PhaseSettle, T: 22}}}
		for i := 0; i <= 230; i++ {
			t := float64(i) * 0.1
			v := 31*mib + rng.Float64()*0.4*mib
			if t >= 2 {
				if grow {
					v += (t - 2) * 52 * mib
				} else {
					v += math.Min(t-2, 1) * 16 * mib
				}
			}
			s.Points = append(s.Points, curve.Point{T: t, Op: math.Max(0, math.Floor((t-2)*50)), V: v})
		}
		return s
	}
	budgets := []curve.Budget{
		{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 1 << 20, Warmup: 2},
		{Metric: "containerd_rss_bytes", Kind: curve.Ceiling, Max: 512 * mib},
	}

	kill := curve.Series{Metric: "dockerd_goroutines", Unit: "goroutines",
		Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 3}, {Name: curve.PhaseSettle, T: 33}}}
	for i := 0; i <= 550; i++ {
		t := float64(i) * 0.1
		v, op := 60.0, 0.0
		switch {
		case t >= 3 && t < 33:
			op = math.Floor((t - 3) * 2)
			v += 2 * math.Min(op, 10)
		case t >= 33:
			op = 60
			v += 20 * math.Max(0, 1-(t-33)/18)
		}
		kill.Points = append(kill.Points, curve.Point{T: t, Op: op, V: math.Round(v + rng.Float64()*2)})
	}
	killBudgets := []curve.Budget{
		{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5, Warmup: 20},
		{Metric: "dockerd_goroutines", Kind: curve.Residual, Max: 5, SettleWindow: 3},
	}

	mk := func(incident, variant string, rt runtime.Kind, version string, expect curve.Verdict, bs []curve.Budget, ss ...curve.Series) Variant {
		r := results.Result{Incident: incident, Variant: variant, Runtime: string(rt), Version: version, Expect: string(expect)}
		judge.Fill(&r, judge.Judge(bs, ss), ss)
		if curve.DefaultRules != curve.RulesV1 {
			r.Rules = string(curve.DefaultRules) // as the engine records them
		}
		r.Units = map[string]string{}
		for _, s := range ss {
			r.Units[s.Metric] = s.Unit
		}
		return Variant{Result: r, Series: ss}
	}
	out := []Variant{
		mk("sample-log-growth", "unlimited", runtime.Containerd, "1.6.20", curve.Breach, budgets, logLine(true)),
		mk("sample-log-growth", "default-limit", runtime.Containerd, "1.6.20", curve.Hold, budgets, logLine(false)),
		mk("sample-loop-drain", "fixed", runtime.Dockerd, "20.10.24", curve.Hold, killBudgets, kill),
	}
	out[0].Result.Title = "containerd buffers a newline-free log line whole"
	out[0].Result.Config = map[string]any{"max_container_log_line_size": -1}
	// The watcher's looks under RulesV3 stop this series 9.5 s after its
	// stimulus: the ceiling is crossed and the slope has a fit.
	out[0].Result.StoppedEarly = true
	out[0].Result.VerdictAfterS = 9.5
	out[0].Result.Guard = &runtime.GuardReport{Limit: 4 << 30, PeakRSS: 1200 * mib}
	out[0].Result.Binary = "/usr/bin/containerd"
	out[1].Result.Config = map[string]any{"max_container_log_line_size": 16384}
	// Their hold is certain 14 s after the stimulus: RulesV3 stops there.
	out[1].Result.StoppedEarly = true
	out[1].Result.VerdictAfterS = 14
	out[2].Result.Extras = map[string]float64{"inflight_peak_goroutines": 20, "residual_fds": 0}
	out[2].Result.VerdictAfterS = 48
	return out
}

// ByName returns the sample variant of incident and variant, and fails
// the test when the sample has none.
func ByName(t testing.TB, incident, variant string) Variant {
	t.Helper()
	for _, v := range Sample() {
		if v.Result.Incident == incident && v.Result.Variant == variant {
			return v
		}
	}
	t.Fatalf("no sample %s/%s", incident, variant)
	return Variant{}
}

// WriteSample records the Sample run into a new run in resultsDir, with a
// goroutine dump as the diagnostics of every variant that must breach, and
// returns the open Store. r renders it (nil: data only).
func WriteSample(t testing.TB, resultsDir string, r results.Renderer) *results.Store {
	t.Helper()
	s, err := results.Open(resultsDir, "", r)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Sample() {
		dir, err := s.VariantDir(v.Result.Incident, v.Result.Variant, v.Result.Cell)
		if err != nil {
			t.Fatal(err)
		}
		if v.Result.Expect == string(curve.Breach) {
			diag := filepath.Join(dir, "goroutines.txt")
			if err := os.WriteFile(diag, []byte("goroutine 1 [running]:\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			v.Result.Diagnostics = []string{diag}
		}
		if err := s.Add(v.Result, v.Series); err != nil {
			t.Fatal(err)
		}
	}
	return s
}
