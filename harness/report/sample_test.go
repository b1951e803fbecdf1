package report

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// synthetic is one variant's made-up run, evaluated by the real curve code.
type synthetic struct {
	result Result
	series []curve.Series
}

// sampleRun builds variants shaped like the incidents relapse reproduces: a
// huge-log-line breach and hold (bytes per second), and a kill loop whose
// goroutines plateau and drain (per-op slope, residual).
func sampleRun() []synthetic {
	rng := rand.New(rand.NewPCG(1, 2))
	const mib = 1 << 20

	logLine := func(grow bool) curve.Series {
		s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
			Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 2}, {Name: curve.PhaseSettle, T: 14}}}
		for i := 0; i <= 150; i++ {
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

	mk := func(incident, variant string, rt runtime.Kind, version string, expect curve.Verdict, bs []curve.Budget, ss ...curve.Series) synthetic {
		return synthetic{
			result: Result{Incident: incident, Variant: variant, Runtime: string(rt), Version: version, Expect: string(expect),
				Evaluations: curve.EvaluateAll(bs, ss, true)},
			series: ss,
		}
	}
	out := []synthetic{
		mk("containerd-huge-log-line", "unlimited", runtime.Containerd, "1.6.20", curve.Breach, budgets, logLine(true)),
		mk("containerd-huge-log-line", "default-limit", runtime.Containerd, "1.6.20", curve.Hold, budgets, logLine(false)),
		mk("dockerd-kill-d-state", "fixed", runtime.Dockerd, "20.10.24", curve.Hold, killBudgets, kill),
	}
	out[0].result.Title = "containerd buffers a newline-free log line whole"
	out[0].result.Config = map[string]any{"max_container_log_line_size": -1}
	out[0].result.StoppedEarly = true
	out[0].result.VerdictAfterS = 3.4
	out[0].result.Guard = &runtime.GuardReport{Limit: 4 << 30, PeakRSS: 700 * mib}
	out[0].result.Binary = "/usr/bin/containerd"
	out[1].result.Config = map[string]any{"max_container_log_line_size": 16384}
	out[1].result.VerdictAfterS = 12
	out[2].result.Extras = map[string]float64{"inflight_peak_goroutines": 20, "residual_fds": 0}
	out[2].result.VerdictAfterS = 48
	return out
}

// writeSample writes the sample run with a Writer into resultsDir.
func writeSample(t *testing.T, resultsDir string) *Writer {
	t.Helper()
	w, err := NewWriter(resultsDir, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sampleRun() {
		dir, err := w.VariantDir(s.result.Incident, s.result.Variant, s.result.Cell)
		if err != nil {
			t.Fatal(err)
		}
		if s.result.Expect == string(curve.Breach) {
			diag := filepath.Join(dir, "goroutines.txt")
			if err := os.WriteFile(diag, []byte("goroutine 1 [running]:\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s.result.Diagnostics = []string{diag}
		}
		if err := w.Add(s.result, s.series); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// TestWriteSample writes a sample report to $RELAPSE_REPORT_SAMPLE so a
// person can look at index.html and the charts; it is skipped otherwise.
func TestWriteSample(t *testing.T) {
	dir := os.Getenv("RELAPSE_REPORT_SAMPLE")
	if dir == "" {
		t.Skip("set RELAPSE_REPORT_SAMPLE=<dir> to write a sample report there")
	}
	w := writeSample(t, dir)
	failed := Result{Incident: "dockerd-bolt-corruption", Variant: "forward-cycle", Runtime: string(runtime.Dockerd), Version: "20.10.24",
		Expect: string(curve.Breach), Error: "start sandbox: dockerd did not answer within 30s; see dockerd.log"}
	if err := w.Add(failed, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s\n%s", w.Dir(), Table(w.Run()))
}
