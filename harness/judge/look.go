package judge

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

// LookEvery is how often a running variant's budgets are judged, from the
// start of its stimulus. The engine's watcher looks on this schedule and
// the calibration replays saved and synthetic series on the same one, so
// the error rates it measures are the watcher's.
const LookEvery = 500 * time.Millisecond

// Look is one look at a running variant: every budget judged on the
// samples so far, and whether the run may stop with a verdict now.
type Look struct {
	Evaluations []curve.Evaluation
	// Stop is set when more data cannot change the verdict: Verdict then
	// says which (breach, or under RulesV2 and RulesV3 also hold).
	Stop    bool
	Verdict curve.Verdict
	// SlopesDecided is set when the stimulus has shown all it can: every
	// slope budget holds for certain (its interval lies under the budget)
	// and nothing has breached, or a budget breaches for certain. Only the
	// calibrated rules (RulesV2, RulesV3) ever say so: RulesV1's certainty
	// is the uncorrected one its calibration measures false far too often.
	// A variant whose settle is its evidence cannot stop here, but it may
	// stop starting operations and settle as usual: the settle then tells
	// a drain from a leak, and its dump shows what a breach keeps.
	SlopesDecided bool
}

// LookAt judges the series so far (not final) under rules and decides
// whether the run may stop. Both rule sets stop on a certain breach once
// every slope budget has a fit (a report of a reproduced incident should
// say how fast it grew). RulesV2 and RulesV3 also stop on a certain hold: every slope
// budget's interval lies below its budget and every ceiling and growth
// budget holds so far. A variant with a residual budget never stops on a
// hold: what is left after the settle is its evidence.
func LookAt(rules curve.Rules, budgets []curve.Budget, series []curve.Series) Look {
	evals := curve.EvaluateAllWith(rules, budgets, series, false)
	l := Look{Evaluations: evals}
	switch {
	case curve.BreachCertain(evals):
		l.Stop, l.Verdict = true, curve.Breach
	case rules.ThreeWay() && holdCertain(evals):
		l.Stop, l.Verdict = true, curve.Hold
	}
	l.SlopesDecided = rules.ThreeWay() &&
		(l.Stop && l.Verdict == curve.Breach || !l.Stop && slopesHold(evals))
	return l
}

// slopesHold reports whether every slope budget holds for certain while
// the other budgets hold so far or wait for the settle (residuals).
func slopesHold(evals []curve.Evaluation) bool {
	slopes := 0
	for _, e := range evals {
		switch {
		case e.Budget.Kind == curve.Slope:
			if e.Verdict != curve.Hold || !e.Certain {
				return false
			}
			slopes++
		case e.Verdict == curve.Breach:
			return false
		}
	}
	return slopes > 0
}

// holdCertain reports whether every budget holds for good: slopes with a
// certain hold, ceilings and growth under their bound (a slope certainly
// under budget is not going to carry them over), and no residual budget.
func holdCertain(evals []curve.Evaluation) bool {
	slopes := 0
	for _, e := range evals {
		switch e.Budget.Kind {
		case curve.Slope:
			if e.Verdict != curve.Hold || !e.Certain {
				return false
			}
			slopes++
		case curve.Ceiling, curve.Growth:
			if e.Verdict != curve.Hold {
				return false
			}
		default:
			return false
		}
	}
	return slopes > 0
}

// Until returns the series cut to the samples taken at or before t
// (seconds since the sampler started), phases included only if marked by
// then: what a look at t saw. A run that stopped early is judged on what
// the deciding look saw, so a sample that arrived while the drive wound
// down cannot turn its verdict.
func Until(series []curve.Series, t float64) []curve.Series {
	out := make([]curve.Series, len(series))
	for i, s := range series {
		c := s
		c.Points = nil
		for _, p := range s.Points {
			if p.T <= t {
				c.Points = append(c.Points, p)
			}
		}
		c.Phases = nil
		for _, ph := range s.Phases {
			if ph.T <= t {
				c.Phases = append(c.Phases, ph)
			}
		}
		out[i] = c
	}
	return out
}

// LastSample is the time of the newest sample in any series, or 0.
func LastSample(series []curve.Series) float64 {
	last := 0.0
	for _, s := range series {
		if n := len(s.Points); n > 0 {
			last = max(last, s.Points[n-1].T)
		}
	}
	return last
}

// Cut is where a run's looks cut its series, in seconds since the sampler
// started; 0 is nowhere.
type Cut struct {
	// Stop: the run stopped early on a look that saw the samples up to
	// here.
	Stop float64
	// Slopes: a run judged on its settle ended its stimulus on a look
	// that found the slope budgets decided (Look.SlopesDecided) and saw
	// the samples up to here.
	Slopes float64
}

// Final judges a finished run. Under three-way rules (RulesV2, RulesV3) a
// run that stopped early is judged on what the deciding look saw, and a
// run that ended its stimulus on decided slopes keeps that look's slope
// evaluations (its other budgets, a residual after the settle, are judged
// on every sample): the first look to find an interval clear of its
// budget is, by construction, the one nearest the boundary, and judging
// the same slope again on a few more samples would spend the sequential
// boundary's error a second time. RulesV1 judges every sample, as it
// always has.
func Final(rules curve.Rules, budgets []curve.Budget, series []curve.Series, cut Cut) Judgement {
	if !rules.ThreeWay() {
		return JudgeWith(rules, budgets, series)
	}
	if cut.Stop > 0 {
		return JudgeWith(rules, budgets, Until(series, cut.Stop))
	}
	j := JudgeWith(rules, budgets, series)
	if cut.Slopes > 0 {
		seen := curve.EvaluateAllWith(rules, budgets, Until(series, cut.Slopes), false)
		for i, e := range seen {
			if e.Budget.Kind == curve.Slope {
				j.Evaluations[i] = e
			}
		}
		j.Verdict = Verdict(j.Evaluations)
	}
	return j
}
