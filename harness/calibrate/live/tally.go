package live

import (
	"fmt"
	"slices"

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
	idx := map[key]int{}
	add := func(k key, o calibrate.Outcome) {
		i, ok := idx[k]
		if !ok {
			l.Cells = append(l.Cells, calibrate.Cell{Rules: k.rules, Source: k.source, Multiple: k.m})
			i = len(l.Cells) - 1
			idx[k] = i
		}
		l.Cells[i].Add(o)
	}
	first, last := -1.0, 0.0
	for _, dir := range dirs {
		run, err := results.Load(dir)
		if err != nil {
			return l, err
		}
		var starts []float64
		for _, res := range run.Results {
			if res.Incident != ID {
				continue
			}
			if !res.Started.IsZero() {
				t := float64(res.Started.UnixMilli()) / 1000
				starts = append(starts, t)
				if first < 0 || t < first {
					first = t
				}
				last = max(last, t+res.DurationS)
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
				add(key{ru, calibrate.LiveLooks, m}, calibrate.Replay(ru, budgets, series, true))
				add(key{ru, calibrate.LiveAtEnd, m}, calibrate.Replay(ru, budgets, series, false))
			}
			l.Recorded++
			if calibrate.Replay(curve.Of(res.Rules), budgets, series, false).Verdict == curve.Verdict(res.Verdict) {
				l.Agree++
			}
			l.SampledS = append(l.SampledS, res.DurationS)
		}
		slices.Sort(starts)
		for i := 1; i < len(starts); i++ {
			l.RunS = append(l.RunS, starts[i]-starts[i-1])
		}
	}
	for i := range l.Cells {
		slices.Sort(l.Cells[i].BreachAfter)
		slices.Sort(l.Cells[i].HoldAfter)
	}
	slices.Sort(l.RunS)
	slices.Sort(l.SampledS)
	if first >= 0 {
		l.WallS = last - first
	}
	return l, nil
}
