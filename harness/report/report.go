// Package report renders what a relapse run recorded, for people and
// dashboards: an SVG chart per series (an A/B chart is the same plotter
// with one layer per run), index.html for a run and ab.html for an A/B
// comparison (one stylesheet), text tables for the terminal, and
// OpenMetrics. It reads results and judgements; it decides nothing.
package report

import (
	"fmt"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// File names report writes into a run directory.
const (
	IndexFile   = "index.html"
	MetricsFile = "metrics.prom"
)

// Renderer is the results.Renderer that draws a run as it is recorded:
// per variant a time chart of every series (and a per-op chart for metrics
// with a per-op budget), per run an overview chart per incident,
// index.html and metrics.prom. The zero
// value is ready to use.
type Renderer struct{}

var _ results.Renderer = Renderer{}

// Variant writes the charts of r's series into dir and lists them in
// r.Charts, relative to the run directory.
func (Renderer) Variant(dir string, r *results.Result, series []curve.Series) error {
	for _, s := range series {
		title := fmt.Sprintf("%s %s: %s", r.Name(), s.Metric, metricVerdict(r.Evaluations, s.Metric))
		files := map[string][]byte{s.Metric + ".svg": Chart(s, r.Evaluations, title)}
		order := []string{s.Metric + ".svg"}
		if hasPerOpBudget(r.Evaluations, s.Metric) {
			file := s.Metric + "-per-op.svg"
			files[file] = ChartPerOp(s, r.Evaluations, title+" (per op)")
			order = append(order, file)
		}
		for _, file := range order {
			if err := results.WriteFile(filepath.Join(dir, file), files[file]); err != nil {
				return fmt.Errorf("chart of %s: %w", s.Metric, err)
			}
			r.Charts = append(r.Charts, r.Name()+"/"+file)
		}
	}
	return nil
}

// Run writes every incident's overview chart, index.html and metrics.prom
// into the run directory dir.
func (Renderer) Run(dir string, run results.Run) error {
	overviews := Overviews(dir, run)
	for _, o := range overviews {
		if o.SVG == nil {
			continue
		}
		if err := results.WriteFile(filepath.Join(dir, filepath.FromSlash(o.File)), o.SVG); err != nil {
			return fmt.Errorf("overview of %s: %w", o.Incident, err)
		}
	}
	page, err := HTML(run, overviews)
	if err != nil {
		return err
	}
	if err := results.WriteFile(filepath.Join(dir, IndexFile), page); err != nil {
		return err
	}
	return results.WriteFile(filepath.Join(dir, MetricsFile), OpenMetrics(run))
}

// metricVerdict is the combined verdict of a metric's own budgets, for a
// chart's title.
func metricVerdict(evals []curve.Evaluation, metric string) string {
	var mine []curve.Evaluation
	for _, e := range evals {
		if e.Budget.Metric == metric {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return "no budget"
	}
	return string(judge.Verdict(mine))
}

// hasPerOpBudget says whether metric has a slope budget per stimulus op,
// which gets a chart against ops.
func hasPerOpBudget(evals []curve.Evaluation, metric string) bool {
	for _, e := range evals {
		if e.Budget.Metric == metric && e.Budget.Kind == curve.Slope && e.Budget.Per == curve.PerOp {
			return true
		}
	}
	return false
}
