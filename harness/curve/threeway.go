package curve

import (
	"fmt"
	"math"
)

// judgeCalibrated turns a CalibratedFit into RulesV2's three-way verdict:
// breach when the whole interval lies above the budget, hold when it lies
// at or below it, both certain (the interval holds over every look), and
// inconclusive otherwise. A final inconclusive says how much longer the
// run would need.
func judgeCalibrated(e Evaluation, f Fit, final bool) Evaluation {
	b := e.Budget
	e.Fit = &f
	e.Measured = f.Slope
	interval := fmt.Sprintf("slope %g/%s (%g%% sequential CI %g..%g, n=%d, rho %.2f, n_eff %.1f), budget %g",
		f.Slope, b.Per, 100*f.Confidence, f.Lo, f.Hi, f.N, f.Rho, f.NEff, b.Max)
	saturated := ": too few effective points to bound the slope at this confidence (the interval is the pairwise slopes' whole range)"
	if e.Rules == RulesV3 {
		interval = fmt.Sprintf("slope %g/%s (%g%% sequential CI %g..%g, n=%d in %d blocks, block rho %.2f), budget %g",
			f.Slope, b.Per, 100*f.Confidence, f.Lo, f.Hi, f.N, f.Blocks, f.Rho, b.Max)
		saturated = fmt.Sprintf(": fewer than %d blocks of %gs: too short a window to bound the slope", minBlocks, minBlockSeconds)
		if f.Saturated {
			interval = fmt.Sprintf("slope %g/%s (no interval, n=%d), budget %g", f.Slope, b.Per, f.N, b.Max)
		}
	}
	switch {
	case f.N < minCertainPoints:
		e.Detail = interval + ": too few points to decide"
	case f.Saturated:
		e.Detail = interval + saturated
		if final {
			e.NeedFactor = needFactor(f, b.Max)
			e.Detail += needText(e.NeedFactor, b.Per)
		}
	case f.Lo > b.Max:
		e.Verdict, e.Certain = Breach, true
		e.Detail = interval
	case f.Hi <= b.Max:
		e.Verdict, e.Certain = Hold, true
		e.Detail = interval
	default:
		e.Detail = interval + ": the interval straddles the budget"
		if final {
			e.NeedFactor = needFactor(f, b.Max)
			e.Detail += needText(e.NeedFactor, b.Per)
		}
	}
	return e
}

// needFactor estimates how many times as long a run must be for f's
// interval to clear max: on evenly spaced x a slope's standard error falls
// like length^-3/2 (n points over a span growing with n), so the half-width
// must shrink by the distance's ratio. 0 when the slope sits on the budget
// (no length decides it).
func needFactor(f Fit, max float64) float64 {
	d := math.Abs(f.Slope - max)
	half := (f.Hi - f.Lo) / 2
	if d == 0 || half <= 0 {
		return 0
	}
	return math.Max(1, math.Pow(half/d, 2.0/3))
}

func needText(factor float64, per Axis) string {
	unit := "the seconds"
	if per == PerOp {
		unit = "the ops"
	}
	if factor == 0 {
		return "; the slope sits on the budget, no run length decides it"
	}
	return fmt.Sprintf("; about %.1fx %s would decide it", factor, unit)
}
