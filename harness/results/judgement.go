package results

import (
	"fmt"
	"math"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Judgement is one budget's verdict in words, the way the HTML report and
// a failing regression spec show it: "containerd_rss_bytes slope ≤ 1 MiB/s
// after 1 s warm-up", "53.3 MiB/s (95% CI 52.6 MiB/s to 54 MiB/s)", "breach".
type Judgement struct {
	Budget   string
	Measured string // empty when nothing was measured
	Verdict  curve.Verdict
	// Detail is the evaluation's own text (raw numbers, or why it is
	// inconclusive).
	Detail  string
	Certain bool
}

// String reads "<verdict> <budget>: measured <value>", or the detail when
// nothing was measured.
func (j Judgement) String() string {
	if j.Measured == "" {
		return fmt.Sprintf("%s %s: %s", j.Verdict, j.Budget, j.Detail)
	}
	return fmt.Sprintf("%s %s: measured %s", j.Verdict, j.Budget, j.Measured)
}

// Judgements puts every evaluation of r into words, with the units of the
// series it measured.
func (r Result) Judgements() []Judgement {
	out := make([]Judgement, 0, len(r.Evaluations))
	for _, e := range r.Evaluations {
		metricUnit := r.Units[e.Budget.Metric]
		unit := e.Budget.Unit(metricUnit)
		j := Judgement{Budget: BudgetText(e.Budget, metricUnit), Verdict: e.Verdict, Detail: e.Detail, Certain: e.Certain}
		if e.Verdict != curve.Inconclusive || e.Measured != 0 {
			j.Measured = Quantity(e.Measured, unit)
			if e.Budget.Kind == curve.Slope && e.Fit != nil {
				j.Measured += FitInterval(*e.Fit, unit)
			}
		}
		out = append(out, j)
	}
	return out
}

// BudgetText reads like "containerd_rss_bytes slope ≤ 977 KiB/s after 2 s
// warm-up": a budget in words, in the unit of the metric it bounds.
func BudgetText(b curve.Budget, metricUnit string) string {
	unit := b.Unit(metricUnit)
	switch b.Kind {
	case curve.Slope:
		s := fmt.Sprintf("%s slope ≤ %s", b.Metric, Quantity(b.Max, unit))
		if b.Warmup > 0 {
			s += fmt.Sprintf(" after %s %s warm-up", Number(b.Warmup), b.Per)
		}
		return s
	case curve.Ceiling:
		return fmt.Sprintf("%s peak ≤ %s", b.Metric, Quantity(b.Max, unit))
	default:
		return fmt.Sprintf("%s %s ≤ +%s", b.Metric, b.Kind, Quantity(b.Max, unit))
	}
}

// FitInterval is " (95% CI lo to hi)" for a fitted slope, or "" when the
// interval would print the same as the slope, is not finite, or does not
// contain the slope (a fit on a window too short to bound it has a slope
// and no interval).
func FitInterval(f curve.Fit, unit string) string {
	if !finite(f.Lo) || !finite(f.Hi) || f.Confidence <= 0 || f.Lo > f.Slope || f.Hi < f.Slope {
		return ""
	}
	lo, hi, mid := Quantity(f.Lo, unit), Quantity(f.Hi, unit), Quantity(f.Slope, unit)
	if lo == mid && hi == mid {
		return ""
	}
	return fmt.Sprintf(" (%.0f%% CI %s to %s)", f.Confidence*100, lo, hi)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
