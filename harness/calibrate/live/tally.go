package live

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/calibrate"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Tally re-judges every recorded leaker run in the results directories
// under each rule set: replayed through the watcher's looks (the verdict
// and time an early-stopping variant would give) and judged once at its
// end. The truth is the multiple the run recorded (ExtraMultiple); runs
// that could not run to a verdict are listed, not counted.
func Tally(dirs []string, rules []curve.Rules) (calibrate.Live, error) {
	l := calibrate.Live{Method: calibrate.LiveMethod, Runs: dirs}
	if len(rules) == 0 {
		return l, fmt.Errorf("live tally: no rules to judge with")
	}
	type key struct {
		rules  curve.Rules
		source string
		m      float64
	}
	idx, byBudget := map[key]int{}, map[key]int{}
	add := func(cells *[]calibrate.Cell, idx map[key]int, k key, o calibrate.Outcome) {
		i, ok := idx[k]
		if !ok {
			*cells = append(*cells, calibrate.Cell{Rules: k.rules, Source: k.source, Multiple: k.m})
			i = len(*cells) - 1
			idx[k] = i
		}
		(*cells)[i].Add(o)
	}
	var spans [][2]float64 // each results directory's, from its first start to its last end
	falses := map[curve.Rules][]string{}
	for _, dir := range dirs {
		run, err := results.Load(dir)
		if err != nil {
			return l, err
		}
		var starts []float64
		end := 0.0
		for _, res := range run.Results {
			if res.Incident != ID {
				continue
			}
			if !res.Started.IsZero() {
				t := float64(res.Started.UnixMilli()) / 1000
				starts = append(starts, t)
				end = max(end, t+res.DurationS)
			}
			if res.Error != "" {
				l.Errors = append(l.Errors, fmt.Sprintf("%s (%s): %s", res.Name(), run.ID, res.Error))
				continue
			}
			m, ok := res.Extras[ExtraMultiple]
			if !ok {
				l.Errors = append(l.Errors, fmt.Sprintf("%s (%s): no %s recorded", res.Name(), run.ID, ExtraMultiple))
				continue
			}
			series, err := results.LoadResultSeries(dir, res)
			if err != nil {
				return l, fmt.Errorf("live tally of %s in %s: %w", res.Name(), dir, err)
			}
			budgets := make([]curve.Budget, len(res.Evaluations))
			for i, e := range res.Evaluations {
				budgets[i] = e.Budget
			}
			for _, ru := range rules {
				o := calibrate.Replay(ru, budgets, series, true)
				if m <= 1 && o.Verdict == curve.Breach {
					falses[ru] = append(falses[ru], fmt.Sprintf("%s (%s) after %.1f s on %s", res.Name(), run.ID, o.After, breached(o)))
				}
				add(&l.Cells, idx, key{ru, calibrate.LiveLooks, m}, o)
				add(&l.Cells, idx, key{ru, calibrate.LiveAtEnd, m}, calibrate.Replay(ru, budgets, series, false))
				// Each budget's own verdict where the looks stopped: which
				// metric decides, and which one leaves a run undecided.
				for _, e := range o.Judgement.Evaluations {
					add(&l.Budgets, byBudget, key{ru, e.Budget.Metric, m}, calibrate.Outcome{Verdict: e.Verdict, After: o.After, Early: o.Early})
				}
			}
			l.Recorded++
			if calibrate.Replay(curve.Of(res.Rules), budgets, series, false).Verdict == curve.Verdict(res.Verdict) {
				l.Agree++
			}
			l.SampledS = append(l.SampledS, res.DurationS)
		}
		slices.Sort(starts)
		if len(starts) > 0 {
			spans = append(spans, [2]float64{starts[0], end})
		}
		for i := 1; i < len(starts); i++ {
			l.RunS = append(l.RunS, starts[i]-starts[i-1])
		}
	}
	for _, cells := range [][]calibrate.Cell{l.Cells, l.Budgets} {
		for i := range cells {
			slices.Sort(cells[i].BreachAfter)
			slices.Sort(cells[i].HoldAfter)
		}
	}
	for _, ru := range rules {
		if n := len(falses[ru]); n > 0 && n <= maxListed {
			for _, f := range falses[ru] {
				l.FalseBreaches = append(l.FalseBreaches, string(ru)+": "+f)
			}
		}
	}
	slices.Sort(l.RunS)
	slices.Sort(l.SampledS)
	l.WallS = covered(spans)
	return l, nil
}

// covered is the time at least one of spans was going: directories run at
// once (relapse calibrate -jobs) count once, the hours between runs of
// different days not at all.
func covered(spans [][2]float64) float64 {
	slices.SortFunc(spans, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	total, end := 0.0, math.Inf(-1)
	for _, s := range spans {
		if s[0] > end {
			total += s[1] - s[0]
		} else if s[1] > end {
			total += s[1] - end
		}
		end = max(end, s[1])
	}
	return total
}

// maxListed is how many false breaches of one rule set are listed by run:
// a few are worth reading one by one, many are the rule set's habit.
const maxListed = 5

// breached names the budgets that breached in a replay's judgement.
func breached(o calibrate.Outcome) string {
	var out []string
	for _, e := range o.Judgement.Evaluations {
		if e.Verdict == curve.Breach {
			out = append(out, e.Budget.Metric)
		}
	}
	return strings.Join(out, ", ")
}
