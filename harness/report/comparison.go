package report

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// Files WriteComparison writes into its directory.
const (
	CompareHTMLFile = "ab.html"
	CompareJSONFile = "ab.json"
	CompareTextFile = "ab.txt"
	compareChartDir = "charts"
)

// WriteComparison writes a comparison (judge.Compare) into dir:
// ab.html (the table, then per variant its series of both runs overlaid on
// one chart per metric), ab.json (the Comparison) and ab.txt
// (ComparisonTable). baseDir and candDir are the runs' directories, where
// the series' JSON files are read from; a series that cannot be read is a
// warning in the comparison, not an error, so an A/B of two summaries alone
// still gives its verdict. It returns the comparison as written, with those
// warnings.
func WriteComparison(dir string, c judge.Comparison, baseDir, candDir string) (judge.Comparison, error) {
	if dir == "" {
		return c, fmt.Errorf("report: comparison directory is empty")
	}
	chartDir := filepath.Join(dir, compareChartDir)
	if err := os.MkdirAll(chartDir, 0o755); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	views := make([]pairView, len(c.Pairs))
	for i, p := range c.Pairs {
		charts, warnings, err := overlayPair(i, p, chartDir, baseDir, candDir, c.Base.ID, c.Candidate.ID)
		if err != nil {
			return c, fmt.Errorf("report: comparison: %w", err)
		}
		c.Warnings = append(c.Warnings, warnings...)
		views[i] = newPairView(i, p, charts)
	}
	if err := results.WriteJSON(filepath.Join(dir, CompareJSONFile), c); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	page, err := comparisonHTML(c, views, baseDir, candDir)
	if err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	if err := results.WriteFile(filepath.Join(dir, CompareHTMLFile), page); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	if err := results.WriteFile(filepath.Join(dir, CompareTextFile), []byte(ComparisonTable(c))); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	return c, nil
}

// overlayPair writes the overlaid charts of one pair: one per metric both
// runs sampled, plus a per-op chart for metrics with a per-op budget.
func overlayPair(i int, p judge.Pair, chartDir, baseDir, candDir, baseID, candID string) ([]chartView, []string, error) {
	var charts []chartView
	var warnings []string
	name := fmt.Sprintf("%s/%s", p.Incident, p.Variant)
	bfiles := seriesByMetric(p.Base.SeriesFiles)
	cfiles := seriesByMetric(p.Candidate.SeriesFiles)
	for _, metric := range sortedKeys(cfiles) {
		if _, ok := bfiles[metric]; !ok {
			warnings = append(warnings, fmt.Sprintf("%s: series %s only in the candidate; not overlaid", name, metric))
			continue
		}
		bs, berr := results.LoadSeries(filepath.Join(baseDir, filepath.FromSlash(strings.TrimSuffix(bfiles[metric], ".csv")+".json")))
		cs, cerr := results.LoadSeries(filepath.Join(candDir, filepath.FromSlash(strings.TrimSuffix(cfiles[metric], ".csv")+".json")))
		if err := errors.Join(berr, cerr); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: series %s not charted: %v", name, metric, err))
			continue
		}
		layers := []layer{
			{s: bs, evals: p.Base.Evaluations, color: colBase, class: "base", label: layerLabel("base", baseID, p.Base)},
			{s: cs, evals: p.Candidate.Evaluations, color: colCandidate, class: "candidate", label: layerLabel("candidate", candID, p.Candidate)},
		}
		axes := []curve.Axis{curve.PerSecond}
		if hasPerOpBudget(p.Candidate.Evaluations, metric) || hasPerOpBudget(p.Base.Evaluations, metric) {
			axes = append(axes, curve.PerOp)
		}
		for _, axis := range axes {
			suffix, what := "", ""
			if axis == curve.PerOp {
				suffix, what = "-per-op", " (per op)"
			}
			file := fmt.Sprintf("%d-%s-%s-%s%s.svg", i+1, fileSafe(p.Incident), fileSafe(p.Variant), fileSafe(metric), suffix)
			title := fmt.Sprintf("%s %s: %s%s", name, metric, p.Change, what)
			if err := results.WriteFile(filepath.Join(chartDir, file), plot{title: title, axis: axis, layers: layers}.svg()); err != nil {
				return nil, nil, err
			}
			charts = append(charts, chartView{Src: relURL(path.Join(compareChartDir, file)), Alt: fmt.Sprintf("%s of %s, base and candidate overlaid%s", metric, name, what)})
		}
	}
	for _, metric := range sortedKeys(bfiles) {
		if _, ok := cfiles[metric]; !ok {
			warnings = append(warnings, fmt.Sprintf("%s: series %s only in the base; not overlaid", name, metric))
		}
	}
	return charts, warnings, nil
}

// seriesByMetric maps a result's series CSVs by metric name.
func seriesByMetric(files []string) map[string]string {
	m := make(map[string]string, len(files))
	for _, f := range files {
		m[strings.TrimSuffix(path.Base(f), ".csv")] = f
	}
	return m
}

// layerLabel reads "base 20261123T150405Z · containerd 1.7.17".
func layerLabel(role, id string, s judge.Side) string {
	l := role + " " + id
	if rt := strings.TrimSpace(s.Runtime + " " + s.Version); rt != "" {
		l += " · " + rt
	}
	return l
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileSafe makes a name usable in a file name whatever a summary holds.
func fileSafe(s string) string {
	s = unsafeFileChars.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}
