// Package judge is where evaluations become a verdict, once: every budget
// judged on the sampled series, the combined verdict, the primary budget a
// result's headline numbers describe, and whether the result passed. It
// also holds the A/B regression policy (Compare), which judges two runs
// against each other.
package judge

import (
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Judgement is what a variant's series say against its budgets.
type Judgement struct {
	// Evaluations are every budget judged, in budget order.
	Evaluations []curve.Evaluation
	// Verdict combines them: breach if any breaches, else inconclusive if
	// any is, else hold; inconclusive without budgets.
	Verdict curve.Verdict
}

// Judge evaluates every budget on the series at the end of a run (final:
// no more samples will come, so a slope is judged on what there is) with
// the default rules.
func Judge(budgets []curve.Budget, series []curve.Series) Judgement {
	return JudgeWith(curve.DefaultRules, budgets, series)
}

// JudgeWith is Judge under the given rules.
func JudgeWith(rules curve.Rules, budgets []curve.Budget, series []curve.Series) Judgement {
	evals := curve.EvaluateAllWith(rules, budgets, series, true)
	return Judgement{Evaluations: evals, Verdict: Verdict(evals)}
}

// Verdict combines evaluations into one verdict; no evaluation at all is
// inconclusive (nothing was judged), never a hold.
func Verdict(evals []curve.Evaluation) curve.Verdict {
	if len(evals) == 0 {
		return curve.Inconclusive
	}
	return curve.Combine(evals)
}

// Primary returns the evaluation a result's headline numbers describe: the
// first slope budget, else the first budget. Growth rate is what relapse is
// about, so a slope is the number a reader wants first.
func Primary(evals []curve.Evaluation) (curve.Evaluation, bool) {
	for _, e := range evals {
		if e.Budget.Kind == curve.Slope {
			return e, true
		}
	}
	if len(evals) > 0 {
		return evals[0], true
	}
	return curve.Evaluation{}, false
}

// Fill records a judgement in r: Evaluations, Verdict, OK (no error and the
// verdict r.Expect names), and the primary budget's Metric, BudgetKind,
// Slope, SlopeUnit, Budget and Growth (unit and growth from its series).
// r.Expect and r.Error must be set first; a caller that sets Error later
// must clear OK too.
func Fill(r *results.Result, j Judgement, series []curve.Series) {
	r.Evaluations = j.Evaluations
	r.Verdict = string(j.Verdict)
	r.OK = Passed(r.Expect, j.Verdict, r.Error)
	p, ok := Primary(j.Evaluations)
	if !ok {
		return
	}
	r.Metric = p.Budget.Metric
	r.BudgetKind = p.Budget.Kind
	r.Slope = p.Measured
	r.Budget = p.Budget.Max
	unit := ""
	for _, s := range series {
		if s.Metric == r.Metric {
			unit = s.Unit
			r.Growth = s.Growth()
		}
	}
	r.SlopeUnit = p.Budget.Unit(unit)
}

// Passed is what ok means everywhere: the variant ran without error and
// gave the verdict it must give.
func Passed(expect string, verdict curve.Verdict, runErr string) bool {
	return runErr == "" && string(verdict) == expect
}
