package main

import (
	"fmt"
	"io"
	"math"

	"github.com/relapse-dev/relapse/harness/calibrate"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/scenarios"
)

// runJudge recomputes every verdict of a saved run from its raw series and
// the budgets recorded with it, and compares them with summary.json: a
// report is only trustworthy if it can be checked again (after a change
// of the fitting code, or by someone who doubts it). With -rules naming
// other rules than a result was judged with, the run is replayed look by
// look as the watcher would have seen it under those rules, and each
// changed verdict is explained budget by budget. Exit 1 on any difference,
// naming it.
func runJudge(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("judge", "[-rules v1|v2|v3] DIR", stderr)
	rulesFlag := fs.String("rules", "", "judge with these verdict rules (v1, v2, v3) instead of each result's own (a result that records none was judged with v1; new runs default to "+string(curve.DefaultRules)+"); a run is then replayed look by look as the live watcher would")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "takes one run directory (results/<run id> or results/latest), got %d arguments", len(pos))
	}
	var rules curve.Rules
	if *rulesFlag != "" {
		if rules, err = curve.ParseRules(*rulesFlag); err != nil {
			return usageError(fs, stderr, "-rules: %v", err)
		}
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
		series, err := results.LoadResultSeries(dir, res)
		if err != nil {
			fmt.Fprintf(stderr, "relapse judge: %s: %v\n", res.Name(), err)
			return exitUsage
		}
		judged++
		recorded := curve.Of(res.Rules)
		if rules != "" && rules != recorded {
			d, lines := rejudgeUnder(rules, res, series)
			for _, l := range lines {
				fmt.Fprintf(stdout, "%-50s %s\n", res.Name(), l)
			}
			if d != "" {
				diffs = append(diffs, res.Name()+": "+d)
			}
			continue
		}
		d := rejudge(recorded, res, series)
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

// budgetsOf are the budgets a result was judged on, in order.
func budgetsOf(res results.Result) []curve.Budget {
	budgets := make([]curve.Budget, len(res.Evaluations))
	for i, e := range res.Evaluations {
		budgets[i] = e.Budget
	}
	return budgets
}

// rejudge judges res's recorded budgets on its saved series under the
// rules it was judged with (on the samples its deciding look saw, when
// those rules cut there) and lists every way the outcome differs from
// what was recorded.
func rejudge(rules curve.Rules, res results.Result, series []curve.Series) []string {
	j := judge.Final(rules, budgetsOf(res), series, judge.Cut{Stop: res.JudgedToS, Slopes: res.SlopesJudgedToS})
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
	return diffs
}

// rejudgeUnder replays res's series under rules on the watcher's schedule
// (calibrate.Replay, the look the engine takes) and says what the run
// would have given: the verdict and when, and for a changed verdict each
// budget whose verdict changed, with the statistics that decided it. It
// returns a one-line difference ("" when the verdict is the same) and the
// lines to print.
func rejudgeUnder(rules curve.Rules, res results.Result, series []curve.Series) (string, []string) {
	toEnd, known := runsToEnd(res.Incident, res.Variant)
	o := calibrate.Replay(rules, budgetsOf(res), series, known && !toEnd)
	when := fmt.Sprintf("after %.1fs", o.After)
	if o.Early {
		when = fmt.Sprintf("stopping early after %.1fs", o.After)
	}
	if string(o.Verdict) == res.Verdict {
		return "", []string{fmt.Sprintf("%s under %s too (%s; recorded under %s after %.1fs)", o.Verdict, rules, when, curve.Of(res.Rules), res.VerdictAfterS)}
	}
	diff := fmt.Sprintf("%s under %s, recorded %s under %s (expected %s)", o.Verdict, rules, res.Verdict, curve.Of(res.Rules), res.Expect)
	lines := []string{fmt.Sprintf("CHANGES: %s, %s", diff, when)}
	for i, e := range o.Judgement.Evaluations {
		if was := res.Evaluations[i]; e.Verdict != was.Verdict {
			lines = append(lines, fmt.Sprintf("  %s: %s, was %s: %s", e.Budget, e.Verdict, was.Verdict, e.Detail))
		}
	}
	if !known {
		lines = append(lines, "  the catalog has no such variant: replayed without early stop, as a variant that runs to its end")
	}
	if res.StoppedEarly && !o.Early {
		lines = append(lines, fmt.Sprintf("  the recorded run stopped early at %.1fs under %s: these are all its samples, and live the drive would have gone on", res.VerdictAfterS, curve.Of(res.Rules)))
	}
	return diff, lines
}

// runsToEnd says whether the catalog's variant runs without early stop,
// and whether the catalog knows the variant at all.
func runsToEnd(incidentID, variant string) (toEnd, known bool) {
	inc, err := scenarios.All().ByID(incidentID)
	if err != nil {
		return false, false
	}
	for _, v := range inc.Variants {
		if v.Name == variant {
			return v.RunToEnd, true
		}
	}
	return false, false
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
