package report

import (
	"fmt"

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
		j := Judgement{Budget: budgetText(e.Budget, metricUnit), Verdict: e.Verdict, Detail: e.Detail, Certain: e.Certain}
		if e.Verdict != curve.Inconclusive || e.Measured != 0 {
			j.Measured = Quantity(e.Measured, unit)
			if e.Budget.Kind == curve.Slope && e.Fit != nil {
				j.Measured += ciText(*e.Fit, unit)
			}
		}
		out = append(out, j)
	}
	return out
}
