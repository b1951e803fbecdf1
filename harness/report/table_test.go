package report

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

func TestTable(t *testing.T) {
	var run results.Run
	run.ID = "r1"
	for _, s := range resultstest.Sample()[:2] {
		r := s.Result
		run.Results = append(run.Results, r)
	}
	out := Table(run)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "2 passed, 0 failed" {
		t.Errorf("last line %q, want exactly %q\n%s", last, "2 passed, 0 failed", out)
	}
	for _, want := range []string{"INCIDENT", "sample-log-growth  unlimited", "52 MiB/s", "> 1 MiB/s", "<= 1 MiB/s", "9.5s (early)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}

	run.Results = append(run.Results, results.Result{Incident: "x", Variant: "y", Expect: string(curve.Hold), Verdict: string(curve.Inconclusive), Error: "dockerd did not start:\nsee log"})
	out = Table(run)
	if !strings.Contains(out, "\n2 passed, 1 failed\n") || !strings.Contains(out, "FAILED") || !strings.Contains(out, "x/y: error: dockerd did not start: see log") {
		t.Errorf("failed result not shown:\n%s", out)
	}
}
