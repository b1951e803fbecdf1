package results

import (
	"strings"
	"testing"
	"time"
)

func TestSupersedeKeepsTheNewestCopy(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 12, 1, 6, min, 0, 0, time.UTC) }
	matrix := Run{ID: "matrix", Started: at(0), Results: []Result{
		{Incident: "log", Variant: "default", Cell: "containerd-1.6.20", Started: at(1), Verdict: "breach"},
		{Incident: "log", Variant: "default", Cell: "containerd-2.3.5", Started: at(2), Verdict: "hold"},
		// No start of its own: its run's start (06:00) counts.
		{Incident: "exec", Variant: "probe-loop", Cell: "containerd-2.3.5", Verdict: "breach"},
	}}
	rerun := Run{ID: "rerun", Started: at(30), Results: []Result{
		{Incident: "log", Variant: "default", Cell: "containerd-1.6.20", Started: at(31), Verdict: "hold"},
		{Incident: "exec", Variant: "probe-loop", Cell: "containerd-2.3.5", Started: at(32), Verdict: "hold"},
	}}
	// The order runs are given in does not decide: the newer copy wins.
	for _, order := range [][]Run{{matrix, rerun}, {rerun, matrix}} {
		runs, replaced := Supersede(order)
		var lines []string
		for _, s := range replaced {
			lines = append(lines, s.String())
		}
		if got, want := strings.Join(lines, "; "), "exec/probe-loop@containerd-2.3.5: run rerun replaces run matrix"; !strings.Contains(got, want) ||
			!strings.Contains(got, "log/default@containerd-1.6.20: run rerun replaces run matrix") || len(lines) != 2 {
			t.Errorf("replaced: %s", got)
		}
		m, err := Merge("m", runs)
		if err != nil {
			t.Fatalf("merge after supersede: %v", err)
		}
		verdicts := map[string]string{}
		for _, r := range m.Results {
			verdicts[r.Name()] = r.Verdict
		}
		want := map[string]string{"log/default@containerd-1.6.20": "hold", "log/default@containerd-2.3.5": "hold", "exec/probe-loop@containerd-2.3.5": "hold"}
		if len(verdicts) != len(want) {
			t.Errorf("merged %v, want %v", verdicts, want)
		}
		for name, v := range want {
			if verdicts[name] != v {
				t.Errorf("%s: verdict %q, want the re-run's %q", name, verdicts[name], v)
			}
		}
	}
	// Of two copies started at the same time, the run given later wins.
	same := rerun
	same.ID = "again"
	runs, replaced := Supersede([]Run{rerun, same})
	if len(replaced) != 2 || replaced[0].Kept != "again" || len(runs[0].Results) != 0 || len(runs[1].Results) != 2 {
		t.Errorf("equal starts: replaced %v, runs %d and %d results; want the later run's copies", replaced, len(runs[0].Results), len(runs[1].Results))
	}
	// Runs with nothing in common are left alone.
	if _, replaced := Supersede([]Run{matrix}); len(replaced) != 0 {
		t.Errorf("one run supersedes %v", replaced)
	}
}
