package curve

// Verdict is the outcome of judging a curve against its budgets.
type Verdict string

const (
	// Hold means every budget was kept.
	Hold Verdict = "hold"
	// Breach means at least one budget was exceeded: the incident reproduced.
	Breach Verdict = "breach"
	// Inconclusive means the data could not decide a budget: too few
	// samples, or (RulesV2) an interval that straddles the budget.
	Inconclusive Verdict = "inconclusive"
)

// Evaluation is one budget judged on one series.
type Evaluation struct {
	Budget   Budget  `json:"budget"`
	Verdict  Verdict `json:"verdict"`
	Measured float64 `json:"measured"`
	// Fit is set for slope budgets.
	Fit *Fit `json:"fit,omitempty"`
	// Certain is true when more data cannot change the verdict: a ceiling
	// already crossed, or a slope whose lower confidence bound is above the
	// budget (under the three-way rules, also one whose upper bound is at or
	// under it: a certain hold). A suite may stop the stimulus early on a
	// certain breach, and under the three-way rules on a certain hold.
	Certain bool `json:"certain"`
	// Baseline is the reference value for growth and residual budgets.
	Baseline float64 `json:"baseline,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	// Rules names the statistics that judged it; empty for RulesV1, the
	// rules every run recorded before they had names was judged with.
	Rules Rules `json:"rules,omitempty"`
	// NeedFactor is, for a slope left inconclusive at the end of a run, how
	// many times as long (in the budget's axis: seconds or ops) the run
	// would have to be for the interval to clear the budget, at the slope
	// and noise measured; 0 when not inconclusive or not estimable.
	NeedFactor float64 `json:"need_factor,omitempty"`
}

// Combine folds several evaluations into one verdict: any breach is a
// breach; otherwise any inconclusive is inconclusive; otherwise hold.
func Combine(evals []Evaluation) Verdict {
	v := Hold
	for _, e := range evals {
		switch e.Verdict {
		case Breach:
			return Breach
		case Inconclusive:
			v = Inconclusive
		}
	}
	return v
}
