package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// runJudge recomputes every verdict of a saved run from its raw series and
// the budgets recorded with it, and compares them with summary.json: a
// report is only trustworthy if it can be checked again (after a change
// of the fitting code, or by someone who doubts it). Exit 1 on any
// difference, naming it.
func runJudge(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("judge", "DIR", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "takes one run directory (results/<run id> or results/latest), got %d arguments", len(pos))
	}
	dir := pos[0]
	run, err := loadRun(dir)
	if err != nil {
		fmt.Fprintf(stderr, "relapse judge: %v\n", err)
		return exitUsage
	}
	var diffs []string
	judged := 0
	for _, res := range run.Results {
		if res.Error != "" || len(res.Evaluations) == 0 {
			fmt.Fprintf(stdout, "%-50s not judged: the run ended without a verdict (%s)\n", res.Name(), oneLine(firstOf(res.Error, "no evaluations")))
			continue
		}
		d, err := rejudge(dir, res)
		if err != nil {
			fmt.Fprintf(stderr, "relapse judge: %s: %v\n", res.Name(), err)
			return exitUsage
		}
		judged++
		if len(d) == 0 {
			fmt.Fprintf(stdout, "%-50s %s, as recorded\n", res.Name(), res.Verdict)
			continue
		}
		for _, x := range d {
			diffs = append(diffs, res.Name()+": "+x)
			fmt.Fprintf(stdout, "%-50s DIFFERS: %s\n", res.Name(), x)
		}
	}
	fmt.Fprintf(stdout, "%d results judged again, %d differences\n", judged, len(diffs))
	if len(diffs) > 0 {
		return exitFail
	}
	return exitOK
}

// rejudge judges res's recorded budgets on its saved series and lists
// every way the outcome differs from what was recorded.
func rejudge(dir string, res results.Result) ([]string, error) {
	var series []curve.Series
	for _, csv := range res.SeriesFiles {
		s, err := results.LoadSeries(filepath.Join(dir, strings.TrimSuffix(csv, ".csv")+".json"))
		if err != nil {
			return nil, err
		}
		series = append(series, s)
	}
	budgets := make([]curve.Budget, len(res.Evaluations))
	for i, e := range res.Evaluations {
		budgets[i] = e.Budget
	}
	j := judge.Judge(budgets, series)
	var diffs []string
	if string(j.Verdict) != res.Verdict {
		diffs = append(diffs, fmt.Sprintf("verdict %s, recorded %s", j.Verdict, res.Verdict))
	}
	for i, e := range j.Evaluations {
		was := res.Evaluations[i]
		if e.Verdict != was.Verdict {
			diffs = append(diffs, fmt.Sprintf("%s: %s, recorded %s", e.Budget, e.Verdict, was.Verdict))
		} else if !same(e.Measured, was.Measured) {
			diffs = append(diffs, fmt.Sprintf("%s: measured %g, recorded %g", e.Budget, e.Measured, was.Measured))
		}
	}
	return diffs, nil
}

// same compares two measurements as stored in JSON (which keeps ~17
// significant digits).
func same(a, b float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
