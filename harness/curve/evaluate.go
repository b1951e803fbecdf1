package curve

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Phase names the harness marks on every series.
const (
	// PhaseStimulus is when the stimulus starts; samples before it are the baseline.
	PhaseStimulus = "stimulus"
	// PhaseSettle is when the stimulus has ended and the run waits for the
	// daemon to drain; slopes are fitted before it, residuals after it.
	PhaseSettle = "settle"
)

// Minimum data for a slope verdict, and for calling a breach certain early.
const (
	minSlopePoints     = 10
	minCertainPoints   = 20
	minDistinctXValues = 3
)

// Evaluate judges one budget on its metric's series with DefaultRules.
// final says the run is over: a residual budget is only judged then, and
// an inconclusive result is only reported then (before, it just means
// "not yet").
func Evaluate(b Budget, s Series, final bool) Evaluation {
	return EvaluateWith(DefaultRules, b, s, final)
}

// EvaluateWith is Evaluate under the given rules. The rules differ only on
// slope budgets; ceilings, growth and residuals are judged alike.
func EvaluateWith(rules Rules, b Budget, s Series, final bool) Evaluation {
	e := Evaluation{Budget: b, Verdict: Inconclusive}
	if rules != RulesV1 {
		e.Rules = rules
	}
	if err := b.Validate(); err != nil {
		e.Detail = err.Error()
		return e
	}
	if len(s.Points) == 0 {
		e.Detail = fmt.Sprintf("no samples of %s", b.Metric)
		return e
	}
	switch b.Kind {
	case Slope:
		return evalSlope(e, s, final)
	case Ceiling:
		e.Measured = s.Max()
		e.Verdict, e.Certain = judge(e.Measured, b.Max), e.Measured > b.Max
		e.Detail = fmt.Sprintf("peak %g, ceiling %g", e.Measured, b.Max)
	case Growth:
		e.Baseline = baseline(s)
		e.Measured = s.Max() - e.Baseline
		e.Verdict, e.Certain = judge(e.Measured, b.Max), e.Measured > b.Max
		e.Detail = fmt.Sprintf("peak %g over baseline %g", e.Measured, e.Baseline)
	case Residual:
		if !final {
			e.Detail = "residual is judged when the run ends"
			return e
		}
		e.Baseline = baseline(s)
		last := s.Points[len(s.Points)-1].T
		win := b.SettleWindow
		if win == 0 {
			win = 3
		}
		tail := s.Window(last-win, last+1)
		if settle, ok := s.PhaseAt(PhaseSettle); !ok || len(tail) == 0 || tail[0].T < settle {
			e.Detail = fmt.Sprintf("no settle phase of at least %gs to judge a residual on", win)
			return e
		}
		vs := make([]float64, len(tail))
		for i, p := range tail {
			vs[i] = p.V
		}
		e.Measured = Median(vs) - e.Baseline
		e.Verdict = judge(e.Measured, b.Max)
		e.Certain = true
		e.Detail = fmt.Sprintf("median of last %gs is %g above baseline %g", win, e.Measured, e.Baseline)
	}
	return e
}

func evalSlope(e Evaluation, s Series, final bool) Evaluation {
	b := e.Budget
	from, _ := s.PhaseAt(PhaseStimulus)
	to, settled := s.PhaseAt(PhaseSettle)
	var xs, ys, ts []float64
	tlo, thi := math.Inf(1), math.Inf(-1)
	distinct := map[float64]bool{}
	for _, p := range s.Points {
		if p.T < from || (settled && p.T >= to) {
			continue
		}
		if (b.Per == PerSecond && p.T < from+b.Warmup) || (b.Per == PerOp && p.Op < b.Warmup) {
			continue
		}
		x := b.Per.X(p)
		xs, ys, ts = append(xs, x), append(ys, p.V), append(ts, p.T)
		tlo, thi = math.Min(tlo, p.T), math.Max(thi, p.T)
		distinct[x] = true
	}
	if len(xs) < minSlopePoints || len(distinct) < minDistinctXValues {
		e.Detail = fmt.Sprintf("%d points at %d distinct x after warm-up %g%s: too few to fit a slope", len(xs), len(distinct), b.Warmup, b.Per)
		return e
	}
	switch e.Rules {
	case RulesV2:
		e = judgeCalibrated(e, CalibratedFit(xs, ys, thi-tlo), final)
	case RulesV3:
		e = judgeCalibrated(e, BlockedFit(xs, ys, ts), final)
		if e.Fit.Saturated && final && thi > tlo {
			// Too short for the blocks: say by how much, not by the
			// interval's width (there is none).
			e.NeedFactor = MinBlockedSeconds / (thi - tlo)
			if i := strings.LastIndex(e.Detail, "; about"); i >= 0 {
				e.Detail = e.Detail[:i]
			} else if i := strings.LastIndex(e.Detail, "; the slope sits"); i >= 0 {
				e.Detail = e.Detail[:i]
			}
			e.Detail += needText(e.NeedFactor, PerSecond)
		}
	default:
		f := TheilSen(xs, ys, 0.95)
		e.Fit = &f
		e.Measured = f.Slope
		e.Verdict = judge(f.Slope, b.Max)
		e.Certain = f.N >= minCertainPoints && f.Lo > b.Max
		e.Detail = fmt.Sprintf("slope %g/%s (95%% CI %g..%g, n=%d), budget %g", f.Slope, b.Per, f.Lo, f.Hi, f.N, b.Max)
	}
	// Both rule sets answer to the metric's resolution: a fit too short
	// for what the counter can show decides nothing.
	if b.Resolution > 0 && e.Verdict != Inconclusive {
		e = resolved(e, slices.Max(xs)-slices.Min(xs))
	}
	return e
}

// resolved keeps a slope's verdict only where the growth it stands on
// exceeds the metric's resolution over the fitted span: a hold needs the
// span over which a growth at the budget's rate would have shown (MinSpan),
// a breach a growth at its lower confidence bound larger than the
// resolution (one jump across a batched counter's whole band fits as a
// growth of up to the resolution). Anything else is inconclusive: the run
// was too short for what the counter can resolve.
func resolved(e Evaluation, span float64) Evaluation {
	b, f := e.Budget, e.Fit
	if e.Verdict == Breach && f.Lo*span >= b.Resolution {
		return e
	}
	if e.Verdict == Hold && span >= b.MinSpan() {
		return e
	}
	e.Verdict, e.Certain = Inconclusive, false
	e.Detail += fmt.Sprintf("; over the %g %s fitted, a growth at the budget's rate stays under the metric's resolution %g (it needs %g %s): too short to judge",
		span, b.Per, b.Resolution, math.Ceil(b.MinSpan()), b.Per)
	return e
}

func judge(measured, max float64) Verdict {
	if measured > max {
		return Breach
	}
	return Hold
}

// baseline is the median of the samples before the stimulus phase, or the
// first sample's value when there are none.
func baseline(s Series) float64 {
	if start, ok := s.PhaseAt(PhaseStimulus); ok {
		var vs []float64
		for _, p := range s.Points {
			if p.T < start {
				vs = append(vs, p.V)
			}
		}
		if len(vs) > 0 {
			return Median(vs)
		}
	}
	return s.Points[0].V
}

// EvaluateAll judges every budget on the series named by its metric with
// DefaultRules. A budget whose metric has no series is inconclusive with a
// detail saying so.
func EvaluateAll(budgets []Budget, series []Series, final bool) []Evaluation {
	return EvaluateAllWith(DefaultRules, budgets, series, final)
}

// EvaluateAllWith is EvaluateAll under the given rules.
func EvaluateAllWith(rules Rules, budgets []Budget, series []Series, final bool) []Evaluation {
	byName := make(map[string]Series, len(series))
	for _, s := range series {
		byName[s.Metric] = s
	}
	out := make([]Evaluation, 0, len(budgets))
	for _, b := range budgets {
		s, ok := byName[b.Metric]
		if !ok {
			out = append(out, Evaluation{Budget: b, Verdict: Inconclusive, Detail: fmt.Sprintf("no series %q was sampled", b.Metric)})
			continue
		}
		out = append(out, EvaluateWith(rules, b, s, final))
	}
	return out
}

// BreachCertain reports whether any evaluation is a breach more data cannot
// undo, so the stimulus can stop early. It waits until every slope budget
// has a fit as well: a report of a reproduced incident should say how fast
// it grew, not only that it crossed a line.
func BreachCertain(evals []Evaluation) bool {
	certain := false
	for _, e := range evals {
		if e.Budget.Kind == Slope && e.Fit == nil {
			return false
		}
		if e.Verdict == Breach && e.Certain {
			certain = true
		}
	}
	return certain
}
