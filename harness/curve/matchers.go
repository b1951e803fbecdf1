package curve

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"
)

// StayWithin succeeds when a Series (or []Series) keeps every budget, so a
// suite reads `Expect(series).To(curve.StayWithin(budgets...))`. A budget
// with too little data fails the match: an unproven hold is not a hold.
func StayWithin(budgets ...Budget) types.GomegaMatcher {
	return &withinMatcher{budgets: budgets}
}

// GrowAtMost is StayWithin for a single slope budget on the series' own
// metric: `Expect(rss).To(curve.GrowAtMost(1<<20, curve.PerSecond))`.
func GrowAtMost(max float64, per Axis) types.GomegaMatcher {
	return &withinMatcher{slope: &Budget{Kind: Slope, Per: per, Max: max}}
}

type withinMatcher struct {
	budgets []Budget
	slope   *Budget // metric filled in from the series
	evals   []Evaluation
}

func (m *withinMatcher) Match(actual any) (bool, error) {
	var series []Series
	switch a := actual.(type) {
	case Series:
		series = []Series{a}
	case []Series:
		series = a
	default:
		return false, fmt.Errorf("StayWithin expects a curve.Series or []curve.Series, got %T", actual)
	}
	budgets := m.budgets
	if m.slope != nil {
		if len(series) != 1 {
			return false, fmt.Errorf("GrowAtMost expects one series, got %d", len(series))
		}
		b := *m.slope
		b.Metric = series[0].Metric
		budgets = []Budget{b}
	}
	m.evals = EvaluateAll(budgets, series, true)
	return Combine(m.evals) == Hold, nil
}

func (m *withinMatcher) FailureMessage(any) string {
	return "Expected the curve to stay within its budgets:\n" + describe(m.evals)
}

func (m *withinMatcher) NegatedFailureMessage(any) string {
	return "Expected the curve to breach a budget, but it held:\n" + describe(m.evals)
}

func describe(evals []Evaluation) string {
	var b strings.Builder
	for _, e := range evals {
		fmt.Fprintf(&b, "  %-8s %s: %s\n", e.Verdict, e.Budget, e.Detail)
	}
	return b.String()
}
