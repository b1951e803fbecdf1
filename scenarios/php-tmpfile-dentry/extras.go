package phptmpfiledentry

import (
	"github.com/relapse-dev/relapse/harness/curve"
)

// The fit of negative dentries per request needs as much data as a budget's
// slope does: at least this many points at this many distinct op counts.
const (
	minFitPoints   = 10
	minDistinctOps = 3
)

// Extras ties the kmem growth to one negative dentry per request: kmem per
// request as the engine's judgement measured it, and negative dentries per
// request (not a budget: the count is machine-wide) fitted here the same
// way, over the requests after warm-up and before the tail.
func (*uploading) Extras(series []curve.Series, evals []curve.Evaluation) map[string]float64 {
	out := map[string]float64{}
	for _, e := range evals {
		if e.Budget.Metric == kmemMetric && e.Budget.Kind == curve.Slope && e.Budget.Per == curve.PerOp && e.Fit != nil {
			out["kmem_bytes_per_request"] = e.Fit.Slope
		}
	}
	for _, s := range series {
		if s.Metric != negativeMetric {
			continue
		}
		if f, ok := perRequest(s); ok {
			out["negative_dentries_per_request"] = f.Slope
		}
	}
	return out
}

// perRequest fits s against the requests served, from the load's start
// (after warm-up) to its end, with Theil-Sen.
func perRequest(s curve.Series) (curve.Fit, bool) {
	from, _ := s.PhaseAt(curve.PhaseStimulus)
	to, settled := s.PhaseAt(curve.PhaseSettle)
	var xs, ys []float64
	distinct := map[float64]bool{}
	for _, p := range s.Points {
		if p.T < from || (settled && p.T >= to) || p.Op < warmup {
			continue
		}
		xs, ys = append(xs, p.Op), append(ys, p.V)
		distinct[p.Op] = true
	}
	if len(xs) < minFitPoints || len(distinct) < minDistinctOps {
		return curve.Fit{}, false
	}
	return curve.TheilSen(xs, ys, 0.95), true
}
