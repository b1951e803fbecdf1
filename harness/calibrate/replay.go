// Package calibrate measures relapse's verdict rules on series whose truth
// is known: it replays them sample by sample through the same look the
// engine's watcher takes (judge.LookAt, every judge.LookEvery from the
// stimulus), stops where the watcher would stop, judges the rest as the
// engine does (judge.Final), and counts false breaches, power and time to
// verdict per rule set, noise kind and leak size.
package calibrate

import (
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
)

// Outcome is what one replayed run gave.
type Outcome struct {
	Verdict curve.Verdict
	// After is the seconds from the stimulus to the verdict: the deciding
	// look's time when the run stopped early, else the last sample's.
	After float64
	// Early is true when a look stopped the run.
	Early bool
	// Judgement is the final judgement, every budget's evaluation with it.
	Judgement judge.Judgement
}

// Replay runs series through the watcher's looks under rules and returns
// what the engine would have recorded. The stimulus phase marks the first
// look's origin (the first sample without one). A variant that runs to
// its end (early false) is judged at the end, its slopes as the first
// look that found them decided saw them (judge.Cut): live, its stimulus
// would have ended there.
func Replay(rules curve.Rules, budgets []curve.Budget, series []curve.Series, early bool) Outcome {
	start, last := stimulusStart(series), judge.LastSample(series)
	step := judge.LookEvery.Seconds()
	var cut judge.Cut
	for k := 1; start+float64(k)*step <= last; k++ {
		at := start + float64(k)*step
		l := judge.LookAt(rules, budgets, judge.Until(series, at))
		if early && l.Stop {
			j := judge.Final(rules, budgets, judge.Until(series, at), judge.Cut{Stop: at})
			return Outcome{Verdict: j.Verdict, After: at - start, Early: true, Judgement: j}
		}
		if !early && l.SlopesDecided {
			cut.Slopes = at
			break
		}
	}
	j := judge.Final(rules, budgets, series, cut)
	return Outcome{Verdict: j.Verdict, After: last - start, Judgement: j}
}

// stimulusStart is the stimulus mark of the first series that has one,
// else its first sample's time.
func stimulusStart(series []curve.Series) float64 {
	for _, s := range series {
		if t, ok := s.PhaseAt(curve.PhaseStimulus); ok {
			return t
		}
	}
	for _, s := range series {
		if len(s.Points) > 0 {
			return s.Points[0].T
		}
	}
	return 0
}
