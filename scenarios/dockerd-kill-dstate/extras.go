package dockerdkilldstate

import (
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
)

// loopExtras puts the incident's headline numbers in the report, taken
// from the engine's judgement of the dockerd budgets: goroutines and fds
// kept per stop call, their in-flight peaks and what is left after the
// settle. A budget the judgement could not measure is left out.
func loopExtras(evals []curve.Evaluation) map[string]float64 {
	out := map[string]float64{}
	for _, e := range evals {
		name, ok := strings.CutPrefix(e.Budget.Metric, "dockerd_")
		if !ok || e.Verdict == curve.Inconclusive {
			continue
		}
		switch e.Budget.Kind {
		case curve.Slope:
			out[name+"_per_op"] = e.Measured
		case curve.Growth:
			out["inflight_peak_"+name] = e.Measured
		case curve.Residual:
			out["residual_"+name] = e.Measured
		}
	}
	return out
}
