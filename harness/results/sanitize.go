package results

import (
	"fmt"
	"slices"
)

// sanitize replaces numbers JSON cannot hold (NaN, ±Inf) with 0 and records
// a warning for each, so one bad fit does not lose the whole summary. It
// copies what it changes: the caller's evaluations and extras stay intact.
func sanitize(r *Result) {
	fix := func(name string, v *float64) {
		if !finite(*v) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s was %v; stored as 0", name, *v))
			*v = 0
		}
	}
	fix("slope", &r.Slope)
	fix("budget", &r.Budget)
	fix("growth", &r.Growth)
	fix("duration_s", &r.DurationS)
	fix("verdict_after_s", &r.VerdictAfterS)
	fix("wall_s", &r.WallS)
	if r.Extras != nil {
		extras := make(map[string]float64, len(r.Extras))
		for k, v := range r.Extras {
			fix("extras."+k, &v)
			extras[k] = v
		}
		r.Extras = extras
	}
	r.Evaluations = slices.Clone(r.Evaluations)
	for i := range r.Evaluations {
		e := &r.Evaluations[i]
		p := fmt.Sprintf("evaluations[%d].", i)
		fix(p+"measured", &e.Measured)
		fix(p+"baseline", &e.Baseline)
		fix(p+"budget.max", &e.Budget.Max)
		fix(p+"budget.warmup", &e.Budget.Warmup)
		fix(p+"budget.settle_window", &e.Budget.SettleWindow)
		if e.Fit != nil {
			f := *e.Fit
			fix(p+"fit.slope", &f.Slope)
			fix(p+"fit.intercept", &f.Intercept)
			fix(p+"fit.lo", &f.Lo)
			fix(p+"fit.hi", &f.Hi)
			fix(p+"fit.confidence", &f.Confidence)
			e.Fit = &f
		}
	}
}
