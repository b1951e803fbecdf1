package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/calibrate/live"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// writeLeakerRun records two leaker runs as the engine does: the null, and
// a leak of 4x the goroutine budget.
func writeLeakerRun(t *testing.T) string {
	t.Helper()
	in, err := live.Incident([]float64{0, 4})
	if err != nil {
		t.Fatal(err)
	}
	w, err := results.Open(t.TempDir(), "live", report.Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range in.Variants {
		m := 0.0
		if v.Expect == curve.Breach {
			m = 4
		}
		budgets := v.Budgets[:1]
		s := curve.Series{Metric: budgets[0].Metric, Unit: "goroutines", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}}}
		for i := 0; i <= 250; i++ {
			tt := float64(i) / 10
			op := math.Max(0, math.Floor((tt-1)*20))
			s.Points = append(s.Points, curve.Point{T: tt, Op: op, V: 20 + float64(i%3) + math.Floor(op*m*budgets[0].Max)})
		}
		series := []curve.Series{s}
		r := results.Result{Incident: live.ID, Variant: v.Name + "-r01", Runtime: "dockerd", Expect: string(v.Expect),
			Extras: map[string]float64{live.ExtraMultiple: m}}
		judge.Fill(&r, judge.JudgeWith(curve.RulesV1, budgets, series), series)
		if err := w.Add(r, series); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Dir()
}

// The live section joins the replays' report in the same directory, and is
// written alone as live.md.
func TestCalibrateLiveTalliesRecordedRuns(t *testing.T) {
	run := writeLeakerRun(t)
	dir := filepath.Join(t.TempDir(), "cal")
	wantCode(t, []string{"calibrate", "-replays", "2", "-multiples", "0,2", "-noises", "ar1-0", "-out", dir}, exitOK)
	out, errs := wantCode(t, []string{"calibrate", "-live-from", run, "-out", dir}, exitOK)
	if !strings.Contains(out, "| v2 | watcher's looks | 4x | 1 | 100.0%") || !strings.Contains(out, "| v1 | watcher's looks | 0x | 1 | 0%") {
		t.Errorf("live tally:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	md, err := os.ReadFile(filepath.Join(dir, "calibration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Breach rate by true slope", "| v1 | ar1-0 |", "## Live runs", "agree with the replay at the end in 2 of 2 runs"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("calibration.md lacks %q:\n%s", want, md)
		}
	}
	alone, err := os.ReadFile(filepath.Join(dir, "live.md"))
	if err != nil || !strings.HasPrefix(string(alone), "# Verdict calibration on live runs") || strings.Contains(string(alone), "ar1-0") {
		t.Errorf("live.md (%v):\n%s", err, alone)
	}
	rep, err := readReport(filepath.Join(dir, "calibration.json"))
	if err != nil || len(rep.Cells) == 0 || rep.Live == nil || rep.Live.Recorded != 2 {
		t.Errorf("calibration.json: %v; %d replay cells, live %+v", err, len(rep.Cells), rep.Live)
	}

	_, errs = wantCode(t, []string{"calibrate", "-live", "1", run}, exitUsage)
	if !strings.Contains(errs, "-live takes no run directories") {
		t.Errorf("-live with run directories: %s", errs)
	}
	_, errs = wantCode(t, []string{"calibrate", "-live-from", filepath.Join(t.TempDir(), "none")}, exitUsage)
	if !strings.Contains(errs, "-live-from") {
		t.Errorf("-live-from a missing run: %s", errs)
	}
	_, errs = wantCode(t, []string{"calibrate", "-live", "-2"}, exitUsage)
	if !strings.Contains(errs, "want a number of runs") {
		t.Errorf("-live -2: %s", errs)
	}
}

// -jobs shares the runs per leak size out as evenly as they go, and never
// starts a process with nothing to run.
func TestLiveShares(t *testing.T) {
	for _, tc := range []struct {
		runs, jobs int
		want       []int
	}{
		{runs: 20, jobs: 1, want: []int{20}},
		{runs: 20, jobs: 6, want: []int{4, 4, 3, 3, 3, 3}},
		{runs: 2, jobs: 6, want: []int{1, 1}},
		{runs: 60, jobs: 4, want: []int{15, 15, 15, 15}},
	} {
		if got := liveShares(tc.runs, tc.jobs); !slices.Equal(got, tc.want) {
			t.Errorf("liveShares(%d, %d) = %v, want %v", tc.runs, tc.jobs, got, tc.want)
		}
	}
}

// -jobs needs live runs to share and at least one process.
func TestCalibrateJobsRefusesBadInput(t *testing.T) {
	wantCode(t, []string{"calibrate", "-jobs", "0", "-live", "2"}, exitUsage)
	wantCode(t, []string{"calibrate", "-jobs", "3", "-live", "0", "-live-from", writeLeakerRun(t)}, exitUsage)
}
