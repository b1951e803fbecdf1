package report

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Comparison is an A/B of two runs: the same incident variants measured on a
// base (e.g. last night, containerd 1.7.17) and a candidate (tonight, 1.7.18),
// budget by budget. It answers the question a runtime upgrade asks: did any
// curve get worse? Its JSON form is ab.json; add keys, never rename them.
type Comparison struct {
	Base      RunRef `json:"base"`
	Candidate RunRef `json:"candidate"`
	// Pairs are the variants found in both runs, sorted by incident,
	// variant, base version.
	Pairs []Pair `json:"pairs"`
	// OnlyBase and OnlyCandidate are variants the other run lacks. A variant
	// that was ok on the base and is missing from the candidate counts as a
	// regression: a nightly that silently stops measuring something must
	// not pass.
	OnlyBase      []Side `json:"only_base"`
	OnlyCandidate []Side `json:"only_candidate"`
	// Regressions counts the regressed pairs plus the missing ok variants.
	Regressions int `json:"regressions"`
	// Warnings name what WriteComparison could not draw (e.g. a series file
	// missing from a downloaded run).
	Warnings []string `json:"warnings,omitempty"`
}

// RunRef identifies one side of a comparison.
type RunRef struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	Host    Host      `json:"host"`
	// Runtimes lists the distinct "runtime version" pairs the run measured,
	// e.g. ["containerd 1.7.18"].
	Runtimes []string `json:"runtimes"`
}

// Side is one run's result for a variant, reduced to what a comparison shows.
type Side struct {
	Incident string `json:"incident"`
	Variant  string `json:"variant"`
	Runtime  string `json:"runtime"`
	Version  string `json:"version"`
	Expect   string `json:"expect"`
	Verdict  string `json:"verdict"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	// Units maps the variant's metrics to their units.
	Units map[string]string `json:"units,omitempty"`
	// SeriesFiles are the run-relative CSVs of the variant's series.
	SeriesFiles []string `json:"series_files,omitempty"`
}

// Pair is one incident variant measured in both runs.
type Pair struct {
	Incident  string `json:"incident"`
	Variant   string `json:"variant"`
	Title     string `json:"title,omitempty"`
	Base      Side   `json:"base"`
	Candidate Side   `json:"candidate"`
	// Change says in one line what happened to the variant's verdict, e.g.
	// "held on 1.7.17, breaches on 1.7.18".
	Change string `json:"change"`
	// Evals compares the variant's budgets one by one, in the candidate's
	// budget order (budgets only the base had come last).
	Evals []EvalDelta `json:"evals"`
	// Regressed is true when the candidate is worse: the variant was ok on
	// the base and is not on the candidate, or (for a variant that must
	// hold) a budget that held now breaches or a slope grew.
	Regressed bool `json:"regressed"`
	// Reasons say why Regressed is set, one line each.
	Reasons []string `json:"reasons,omitempty"`

	// baseRes and candRes are the results compared, for the charts.
	baseRes, candRes Result
}

// EvalDelta is one budget judged in both runs.
type EvalDelta struct {
	Metric string     `json:"metric"`
	Kind   curve.Kind `json:"kind"`
	Per    curve.Axis `json:"per,omitempty"`
	// Unit is the unit of Measured, Lo, Hi and Budget (e.g. "bytes/s").
	Unit string `json:"unit"`
	// Budget is the candidate's bound (the base's when only the base has it).
	Budget float64 `json:"budget"`
	// Base and Candidate are nil when that run did not judge this budget.
	Base      *Measure `json:"base"`
	Candidate *Measure `json:"candidate"`
	// Change reads like "held on 1.7.17, breaches on 1.7.18".
	Change string `json:"change"`
	// Grew is true for a slope whose candidate lower confidence bound lies
	// above the base's upper bound and above half the budget: growth that is
	// both statistically clear and big enough to matter, even if it still
	// holds.
	Grew bool `json:"grew"`
	// Regressed is true when this budget makes its pair regress.
	Regressed bool `json:"regressed"`
}

// Measure is one run's judgement of a budget.
type Measure struct {
	Verdict  curve.Verdict `json:"verdict"`
	Measured float64       `json:"measured"`
	// Lo and Hi are the slope's confidence bounds (slope budgets with a fit).
	Lo         float64 `json:"lo,omitempty"`
	Hi         float64 `json:"hi,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	HasFit     bool    `json:"has_fit"`
	Budget     float64 `json:"budget"`
}

// Compare pairs the results of two runs by incident and variant and judges
// each pair budget by budget. Versions do not have to match: comparing
// containerd 1.7.17 with 1.7.18 is the point. When one run holds several
// results for the same incident and variant (a matrix run), results of equal
// version pair first and the rest pair in version order; what is left over
// is reported as only in one run.
func Compare(base, cand Run) Comparison {
	c := Comparison{
		Base:          newRunRef(base),
		Candidate:     newRunRef(cand),
		Pairs:         []Pair{},
		OnlyBase:      []Side{},
		OnlyCandidate: []Side{},
	}
	type key struct{ incident, variant string }
	group := func(rs []Result) (map[key][]Result, []key) {
		m := map[key][]Result{}
		var order []key
		for _, r := range rs {
			k := key{r.Incident, r.Variant}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], r)
		}
		return m, order
	}
	bm, border := group(base.Results)
	cm, corder := group(cand.Results)
	keys := border
	for _, k := range corder {
		if _, ok := bm[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		bs, cs := bm[k], cm[k]
		pairs, restB, restC := matchVersions(bs, cs)
		for _, ij := range pairs {
			c.Pairs = append(c.Pairs, comparePair(bs[ij[0]], cs[ij[1]]))
		}
		for _, i := range restB {
			c.OnlyBase = append(c.OnlyBase, newSide(bs[i]))
		}
		for _, j := range restC {
			c.OnlyCandidate = append(c.OnlyCandidate, newSide(cs[j]))
		}
	}
	slices.SortStableFunc(c.Pairs, func(a, b Pair) int {
		return cmp.Or(strings.Compare(a.Incident, b.Incident), strings.Compare(a.Variant, b.Variant), compareVersions(a.Base.Version, b.Base.Version))
	})
	for _, p := range c.Pairs {
		if p.Regressed {
			c.Regressions++
		}
	}
	for _, s := range c.OnlyBase {
		if s.OK {
			c.Regressions++
		}
	}
	return c
}

// matchVersions pairs the results of one incident variant: equal runtime
// and version first, then the rest in version order. It returns index pairs
// (base, candidate) and the indices left unpaired on each side.
func matchVersions(base, cand []Result) (pairs [][2]int, restB, restC []int) {
	usedB, usedC := make([]bool, len(base)), make([]bool, len(cand))
	for i, b := range base {
		for j, c := range cand {
			if !usedC[j] && b.Runtime == c.Runtime && b.Version == c.Version {
				usedB[i], usedC[j] = true, true
				pairs = append(pairs, [2]int{i, j})
				break
			}
		}
	}
	rest := func(rs []Result, used []bool) []int {
		var idx []int
		for i := range rs {
			if !used[i] {
				idx = append(idx, i)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return compareVersions(rs[a].Version, rs[b].Version) })
		return idx
	}
	restB, restC = rest(base, usedB), rest(cand, usedC)
	n := min(len(restB), len(restC))
	for k := range n {
		pairs = append(pairs, [2]int{restB[k], restC[k]})
	}
	return pairs, restB[n:], restC[n:]
}

// compareVersions orders versions as releases are numbered.
var compareVersions = runtime.CompareVersions

func newRunRef(r Run) RunRef {
	ref := RunRef{ID: r.ID, Started: r.Started, Host: r.Host, Runtimes: []string{}}
	for _, res := range r.Results {
		rt := strings.TrimSpace(res.Runtime + " " + res.Version)
		if rt != "" && !slices.Contains(ref.Runtimes, rt) {
			ref.Runtimes = append(ref.Runtimes, rt)
		}
	}
	slices.Sort(ref.Runtimes)
	return ref
}

func newSide(r Result) Side {
	return Side{
		Incident: r.Incident, Variant: r.Variant, Runtime: r.Runtime, Version: r.Version,
		Expect: r.Expect, Verdict: r.Verdict, OK: r.OK, Error: r.Error,
		Units: r.Units, SeriesFiles: r.SeriesFiles,
	}
}

// sideNames returns how change lines name the base and the candidate: by
// version when the versions differ ("1.7.17"), with the runtime when that
// differs too ("dockerd 20.10.5"), else "base" and "candidate".
func sideNames(b, c Side) (string, string) {
	switch {
	case b.Runtime != c.Runtime && b.Runtime != "" && c.Runtime != "":
		return strings.TrimSpace(b.Runtime + " " + b.Version), strings.TrimSpace(c.Runtime + " " + c.Version)
	case b.Version != c.Version && b.Version != "" && c.Version != "":
		return b.Version, c.Version
	}
	return "base", "candidate"
}

// verb words a verdict for a change line: past for the base, present for
// the candidate.
func verb(v string, past bool) string {
	switch curve.Verdict(v) {
	case curve.Hold:
		return map[bool]string{true: "held", false: "holds"}[past]
	case curve.Breach:
		return map[bool]string{true: "breached", false: "breaches"}[past]
	case curve.Inconclusive:
		return map[bool]string{true: "was inconclusive", false: "is inconclusive"}[past]
	case "":
		return map[bool]string{true: "had no verdict", false: "has no verdict"}[past]
	}
	return map[bool]string{true: "was ", false: "is "}[past] + v
}

// changeLine reads "held on 1.7.17, breaches on 1.7.18", or "breaches on
// both (1.7.17, 1.7.18)" when the verdict did not change.
func changeLine(bv, cv, bn, cn string) string {
	if bv == cv {
		if bn == "base" {
			return verb(cv, false) + " on both"
		}
		return fmt.Sprintf("%s on both (%s, %s)", verb(cv, false), bn, cn)
	}
	return fmt.Sprintf("%s on %s, %s on %s", verb(bv, true), bn, verb(cv, false), cn)
}

// comparePair judges one variant measured in both runs.
func comparePair(b, c Result) Pair {
	p := Pair{
		Incident: c.Incident, Variant: c.Variant, Title: cmp.Or(c.Title, b.Title),
		Base: newSide(b), Candidate: newSide(c),
		baseRes: b, candRes: c,
	}
	bn, cn := sideNames(p.Base, p.Candidate)
	p.Change = changeLine(b.Verdict, c.Verdict, bn, cn)
	if b.Error == "" && c.Error != "" {
		p.Change += " (candidate error: " + shorten(oneLine(c.Error), 120) + ")"
	}
	if b.OK && !c.OK {
		p.Regressed = true
		why := fmt.Sprintf("ok on %s (expected %s, got %s), failed on %s (expected %s, got %s)", bn, b.Expect, b.Verdict, cn, c.Expect, c.Verdict)
		if c.Error != "" {
			why += ": " + shorten(oneLine(c.Error), 200)
		}
		p.Reasons = append(p.Reasons, why)
	}
	// Budgets are a contract only for variants that must hold on either
	// side: a vulnerable variant is expected to breach, and its slope moving
	// by noise between two breaches is no regression (its failing to
	// reproduce is, through OK). A variant that held on the base must still
	// hold on the candidate, even where a matrix expects the candidate's
	// older version to breach (20.10.24 -> 20.10.5 brings the leak back).
	mustHold := c.Expect == string(curve.Hold) || b.Expect == string(curve.Hold)
	p.Evals = compareEvals(b, c, bn, cn)
	for i := range p.Evals {
		e := &p.Evals[i]
		if !mustHold || e.Base == nil || e.Candidate == nil {
			continue
		}
		switch {
		case e.Base.Verdict == curve.Hold && e.Candidate.Verdict == curve.Breach:
			e.Regressed = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("%s: %s", evalName(*e), e.Change))
		case e.Grew:
			e.Regressed = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("%s grew: %s on %s is above %s on %s and above half the budget %s",
				evalName(*e), measureText(*e.Candidate, e.Unit), cn, measureText(*e.Base, e.Unit), bn, Quantity(e.Budget, e.Unit)))
		}
		if e.Regressed {
			p.Regressed = true
		}
	}
	return p
}

// evalName reads "containerd_rss_bytes slope".
func evalName(e EvalDelta) string { return e.Metric + " " + string(e.Kind) }

// compareEvals pairs two results' evaluations by metric, kind and axis (the
// n-th such budget of one with the n-th of the other).
func compareEvals(b, c Result, bn, cn string) []EvalDelta {
	type key struct {
		metric string
		kind   curve.Kind
		per    curve.Axis
		n      int
	}
	keyed := func(evals []curve.Evaluation) ([]key, map[key]curve.Evaluation) {
		seen := map[key]int{}
		keys := make([]key, 0, len(evals))
		m := make(map[key]curve.Evaluation, len(evals))
		for _, e := range evals {
			k := key{e.Budget.Metric, e.Budget.Kind, e.Budget.Per, 0}
			k.n = seen[k]
			seen[key{k.metric, k.kind, k.per, 0}]++
			keys = append(keys, k)
			m[k] = e
		}
		return keys, m
	}
	bk, bm := keyed(b.Evaluations)
	ck, cm := keyed(c.Evaluations)
	order := ck
	for _, k := range bk {
		if _, ok := cm[k]; !ok {
			order = append(order, k)
		}
	}
	out := make([]EvalDelta, 0, len(order))
	for _, k := range order {
		be, inB := bm[k]
		ce, inC := cm[k]
		ref := ce
		if !inC {
			ref = be
		}
		unit := c.Units[k.metric]
		if unit == "" {
			unit = b.Units[k.metric]
		}
		d := EvalDelta{Metric: k.metric, Kind: k.kind, Per: k.per, Unit: ref.Budget.Unit(unit), Budget: ref.Budget.Max}
		if inB {
			d.Base = newMeasure(be)
		}
		if inC {
			d.Candidate = newMeasure(ce)
		}
		switch {
		case !inB:
			d.Change = fmt.Sprintf("new budget: %s on %s", verb(string(ce.Verdict), false), cn)
		case !inC:
			d.Change = fmt.Sprintf("budget gone: %s on %s, not judged on %s", verb(string(be.Verdict), true), bn, cn)
		default:
			d.Change = changeLine(string(be.Verdict), string(ce.Verdict), bn, cn)
			d.Grew = grew(*d.Base, *d.Candidate, d.Budget)
			if d.Grew {
				d.Change += ", slope grew"
			}
			if be.Budget.Max != ce.Budget.Max {
				d.Change += fmt.Sprintf(" (budget changed from %s)", Quantity(be.Budget.Max, d.Unit))
			}
		}
		out = append(out, d)
	}
	return out
}

func newMeasure(e curve.Evaluation) *Measure {
	m := &Measure{Verdict: e.Verdict, Measured: e.Measured, Budget: e.Budget.Max}
	if f := e.Fit; f != nil && f.N > 0 && finite(f.Lo) && finite(f.Hi) {
		m.HasFit, m.Lo, m.Hi, m.Confidence = true, f.Lo, f.Hi, f.Confidence
	}
	return m
}

// grew reports a slope clearly and materially higher on the candidate: its
// lower confidence bound above the base's upper bound (the intervals do not
// overlap) and above half the budget (growth too small to matter against the
// budget is noise for a regression check, however certain).
func grew(b, c Measure, budget float64) bool {
	return b.HasFit && c.HasFit && c.Lo > b.Hi && c.Lo > budget/2
}

// measureText reads "52.1 MiB/s [51.8 MiB/s, 52.4 MiB/s]": the value and,
// for a fitted slope, its confidence bounds unless they print the same.
func measureText(m Measure, unit string) string {
	s := Quantity(m.Measured, unit)
	if lo, hi := Quantity(m.Lo, unit), Quantity(m.Hi, unit); m.HasFit && (lo != s || hi != s) {
		s += fmt.Sprintf(" [%s, %s]", lo, hi)
	}
	return s
}

// ComparisonTable renders a comparison as plain text for the terminal: one
// row per budget of each paired variant, then the reasons of every
// regression, the variants only one run has, and a last line "N regressed,
// M compared" alone on its line.
func ComparisonTable(c Comparison) string {
	var b strings.Builder
	fmt.Fprintf(&b, "relapse A/B: base %s (%s) vs candidate %s (%s)\n", c.Base.ID, strings.Join(c.Base.Runtimes, ", "), c.Candidate.ID, strings.Join(c.Candidate.Runtimes, ", "))
	if len(c.Pairs) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INCIDENT\tVARIANT\tRUNTIME\tBUDGET\tBASE\tCANDIDATE\tCHANGE\tREGRESSED")
		for _, p := range c.Pairs {
			rt := strings.TrimSpace(p.Base.Runtime + " " + p.Base.Version)
			if crt := strings.TrimSpace(p.Candidate.Runtime + " " + p.Candidate.Version); crt != rt {
				rt += " -> " + crt
			}
			reg := "-"
			if p.Regressed {
				reg = "REGRESSED"
			}
			if len(p.Evals) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t%s\t%s\t%s\n", oneLine(p.Incident), oneLine(p.Variant), oneLine(rt), p.Base.Verdict, p.Candidate.Verdict, p.Change, reg)
				continue
			}
			for i, e := range p.Evals {
				inc, vr, rtc, r := oneLine(p.Incident), oneLine(p.Variant), oneLine(rt), reg
				if i > 0 {
					inc, vr, rtc = "", "", ""
					if r != "-" {
						r = ""
					}
				}
				if e.Regressed {
					r = "REGRESSED"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc, vr, rtc, budgetCell(e), measureCell(e.Base, e.Unit), measureCell(e.Candidate, e.Unit), e.Change, r)
			}
		}
		_ = tw.Flush() // writes to a strings.Builder, which does not fail
	}
	for _, p := range c.Pairs {
		for _, r := range p.Reasons {
			fmt.Fprintf(&b, "regressed: %s/%s: %s\n", oneLine(p.Incident), oneLine(p.Variant), oneLine(r))
		}
	}
	for _, s := range c.OnlyBase {
		what := "only in base"
		if s.OK {
			what = "regressed: missing from the candidate (ok in base)"
		}
		fmt.Fprintf(&b, "%s: %s/%s (%s %s, %s)\n", what, oneLine(s.Incident), oneLine(s.Variant), s.Runtime, s.Version, s.Verdict)
	}
	for _, s := range c.OnlyCandidate {
		fmt.Fprintf(&b, "only in candidate: %s/%s (%s %s, %s)\n", oneLine(s.Incident), oneLine(s.Variant), s.Runtime, s.Version, s.Verdict)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", oneLine(w))
	}
	fmt.Fprintf(&b, "\n%s\n", c.countsLine())
	return b.String()
}

// countsLine is the overall outcome, worded exactly "1 regressed, 3 compared".
func (c Comparison) countsLine() string {
	return fmt.Sprintf("%d regressed, %d compared", c.Regressions, len(c.Pairs))
}

// budgetCell reads "containerd_rss_bytes slope <= 1 MiB/s".
func budgetCell(e EvalDelta) string {
	op := "<= "
	if e.Kind == curve.Growth || e.Kind == curve.Residual {
		op = "<= +"
	}
	return fmt.Sprintf("%s %s %s%s", e.Metric, e.Kind, op, Quantity(e.Budget, e.Unit))
}

// measureCell reads "52.1 MiB/s [51.8 MiB/s, 52.4 MiB/s] breach" or "-".
func measureCell(m *Measure, unit string) string {
	if m == nil {
		return "-"
	}
	if v := measureValue(*m, unit); v != "" {
		return v + " " + string(m.Verdict)
	}
	return string(m.Verdict)
}

// measureValue is measureText, or "" for a budget that was not judged (an
// inconclusive verdict with nothing measured).
func measureValue(m Measure, unit string) string {
	if m.Verdict == curve.Inconclusive && m.Measured == 0 {
		return ""
	}
	return measureText(m, unit)
}

// Files WriteComparison writes into its directory.
const (
	CompareHTMLFile = "ab.html"
	CompareJSONFile = "ab.json"
	CompareTextFile = "ab.txt"
	compareChartDir = "charts"
)

// Overlay colours: the base in blue, the candidate in orange, budgets as in
// the single-run charts (red, dashed).
const (
	colBase      = "#1f5fbf"
	colCandidate = "#e07b00"
)

// WriteComparison compares two runs and writes the comparison into dir:
// ab.html (the table, then per variant its series of both runs overlaid on
// one chart per metric), ab.json (the Comparison) and ab.txt
// (ComparisonTable). baseDir and candDir are the runs' directories, where
// the series' JSON files are read from; a series that cannot be read is a
// warning in the comparison, not an error, so an A/B of two summaries alone
// still gives its verdict. It returns the comparison it wrote.
func WriteComparison(dir string, base, cand Run, baseDir, candDir string) (Comparison, error) {
	c := Compare(base, cand)
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
	if err := writeJSON(filepath.Join(dir, CompareJSONFile), c); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	page, err := comparisonHTML(c, views, baseDir, candDir)
	if err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CompareHTMLFile), page); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CompareTextFile), []byte(ComparisonTable(c))); err != nil {
		return c, fmt.Errorf("report: comparison: %w", err)
	}
	return c, nil
}

// overlayPair writes the overlaid charts of one pair: one per metric both
// runs sampled, plus a per-op chart for metrics with a per-op budget.
func overlayPair(i int, p Pair, chartDir, baseDir, candDir, baseID, candID string) ([]chartView, []string, error) {
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
		bs, berr := LoadSeries(filepath.Join(baseDir, filepath.FromSlash(strings.TrimSuffix(bfiles[metric], ".csv")+".json")))
		cs, cerr := LoadSeries(filepath.Join(candDir, filepath.FromSlash(strings.TrimSuffix(cfiles[metric], ".csv")+".json")))
		if err := errors.Join(berr, cerr); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: series %s not charted: %v", name, metric, err))
			continue
		}
		layers := []overlayLayer{
			{s: bs, evals: p.baseRes.Evaluations, color: colBase, class: "base", label: layerLabel("base", baseID, p.Base)},
			{s: cs, evals: p.candRes.Evaluations, color: colCandidate, class: "candidate", label: layerLabel("candidate", candID, p.Candidate)},
		}
		axes := []curve.Axis{curve.PerSecond}
		if hasPerOpBudget(p.candRes.Evaluations, metric) || hasPerOpBudget(p.baseRes.Evaluations, metric) {
			axes = append(axes, curve.PerOp)
		}
		for _, axis := range axes {
			suffix, what := "", ""
			if axis == curve.PerOp {
				suffix, what = "-per-op", " (per op)"
			}
			file := fmt.Sprintf("%d-%s-%s-%s%s.svg", i+1, fileSafe(p.Incident), fileSafe(p.Variant), fileSafe(metric), suffix)
			title := fmt.Sprintf("%s %s: %s%s", name, metric, p.Change, what)
			if err := writeFile(filepath.Join(chartDir, file), overlayChart(layers, cs.Unit, axis, title)); err != nil {
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
func layerLabel(role, id string, s Side) string {
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

// overlayLayer is one run's series on an overlaid chart.
type overlayLayer struct {
	s     curve.Series
	evals []curve.Evaluation
	color string
	class string
	label string
}

// layerX is where a point sits on an overlaid chart: time since the
// stimulus started (so two runs with different baseline lengths line up),
// or the op count.
func layerX(s curve.Series, axis curve.Axis) func(curve.Point) float64 {
	if axis == curve.PerOp {
		return axis.X
	}
	start, _ := s.PhaseAt(curve.PhaseStimulus)
	return func(p curve.Point) float64 { return p.T - start }
}

// overlayChart draws several runs' series of one metric on one SVG: each
// run's values and its slope fit in its colour, and the last layer's (the
// candidate's) budgets, the way Chart draws one run.
func overlayChart(layers []overlayLayer, unit string, axis curve.Axis, title string) []byte {
	type line struct {
		a, b         xy
		color, class string
		dash         string
		width        float64
	}
	var lines []line
	legend := []legendItem{}
	data := make([][]xy, len(layers))
	first := true
	xmin, xmax, ylo, yhi := 0.0, 1.0, 0.0, 1.0
	for li, l := range layers {
		x := layerX(l.s, axis)
		settle, settled := l.s.PhaseAt(curve.PhaseSettle)
		for _, p := range l.s.Points {
			if axis == curve.PerOp && settled && p.T >= settle {
				continue
			}
			px := x(p)
			if !finite(px) || !finite(p.V) {
				continue
			}
			data[li] = append(data[li], xy{px, p.V})
			if first {
				xmin, xmax, ylo, yhi, first = px, px, p.V, p.V, false
			}
			xmin, xmax = math.Min(xmin, px), math.Max(xmax, px)
			ylo, yhi = math.Min(ylo, p.V), math.Max(yhi, p.V)
		}
		text := l.label
		for _, e := range l.evals {
			if e.Budget.Metric != l.s.Metric || e.Budget.Kind != curve.Slope || e.Budget.Per != axis {
				continue
			}
			f := e.Fit
			win := slopeWindow(l.s, e.Budget)
			if f == nil || f.N == 0 || !finite(f.Slope) || !finite(f.Intercept) || len(win) == 0 {
				continue
			}
			x0, x1 := axis.X(win[0]), axis.X(win[0])
			for _, p := range win {
				x0, x1 = math.Min(x0, axis.X(p)), math.Max(x1, axis.X(p))
			}
			shift := axis.X(win[0]) - x(win[0])
			lines = append(lines, line{
				a: xy{x0 - shift, f.Intercept + f.Slope*x0}, b: xy{x1 - shift, f.Intercept + f.Slope*x1},
				color: l.color, class: "fit-" + l.class, dash: "2 3", width: 1.4,
			})
			text += " · " + fitLabel(*f, e.Budget.Unit(unit))
		}
		legend = append(legend, legendItem{color: l.color, text: text})
	}

	// The candidate's budgets, drawn as Chart draws them.
	dataLo, dataHi := ylo, yhi
	dataSpan := math.Max(yhi-ylo, math.Abs(yhi)*0.05)
	level := func(lv float64) (string, bool) {
		switch {
		case !finite(lv):
			return " (not finite)", false
		case !first && lv > dataHi+3*dataSpan:
			return " (off the chart, above)", false
		case !first && lv < dataLo-3*dataSpan:
			return " (off the chart, below)", false
		}
		ylo, yhi = math.Min(ylo, lv), math.Max(yhi, lv)
		return "", true
	}
	if n := len(layers); n > 0 {
		l := layers[n-1]
		x := layerX(l.s, axis)
		for _, e := range l.evals {
			b := e.Budget
			if b.Metric != l.s.Metric {
				continue
			}
			bu := b.Unit(unit)
			switch b.Kind {
			case curve.Slope:
				if b.Per != axis {
					continue
				}
				legend = append(legend, legendItem{color: colBudget, dashed: true, text: "slope budget " + Quantity(b.Max, bu)})
				win := slopeWindow(l.s, b)
				if len(win) == 0 {
					continue
				}
				x0, x1 := axis.X(win[0]), axis.X(win[0])
				for _, p := range win {
					x0, x1 = math.Min(x0, axis.X(p)), math.Max(x1, axis.X(p))
				}
				y0 := win[0].V
				if f := e.Fit; f != nil && f.N > 0 && finite(f.Slope) && finite(f.Intercept) {
					y0 = f.Intercept + f.Slope*x0
				}
				shift := axis.X(win[0]) - x(win[0])
				lines = append(lines, line{a: xy{x0 - shift, y0}, b: xy{x1 - shift, y0 + b.Max*(x1-x0)}, color: colBudget, class: "budget", dash: "7 5", width: 1.6})
			case curve.Ceiling, curve.Growth:
				lv, name := b.Max, "ceiling "
				if b.Kind == curve.Growth {
					lv, name = e.Baseline+b.Max, "growth budget +"
				}
				note, ok := level(lv)
				legend = append(legend, legendItem{color: colBudget, dashed: true, text: name + Quantity(b.Max, bu) + " (candidate)" + note})
				if ok {
					lines = append(lines, line{a: xy{xmin, lv}, b: xy{xmax, lv}, color: colBudget, class: "budget", dash: "7 5", width: 1.6})
				}
			}
		}
	}

	switch {
	case ylo >= 0 && ylo <= yhi/2:
		ylo = 0
	case yhi == ylo:
		pad := math.Max(math.Abs(yhi)*0.01, 1)
		ylo, yhi = ylo-pad, yhi+pad
	default:
		pad := (yhi - ylo) * 0.05
		ylo, yhi = ylo-pad, yhi+pad
	}
	xTitle := "time since the stimulus started (s)"
	if axis == curve.PerOp {
		xTitle = "stimulus ops"
	}
	if xmin > 0 && xmin < (xmax-xmin)*0.2 {
		xmin = 0
	}
	xlo, xhi, xticks := axisTicks(xmin, xmax, 8, "")
	ylo, yhi, yticks := axisTicks(ylo, yhi, 5, unit)

	f := newPlotFrame(legend, xlo, xhi, ylo, yhi)
	pl, pr, pt, pb, sx, sy := f.pl, f.pr, f.pt, f.pb, f.sx, f.sy
	rows := f.rows
	var w svgWriter
	f.open(&w, title, xTitle, xticks, yticks)
	for li, pts := range data {
		if len(pts) == 0 {
			continue
		}
		var d strings.Builder
		for i, p := range decimate(pts, sx) {
			c := 'L'
			if i == 0 {
				c = 'M'
			}
			fmt.Fprintf(&d, "%c%.1f %.1f", c, sx(p.x), sy(p.y))
		}
		w.printf(`<path class="data series-%s" d="%s" stroke="%s" stroke-width="1.6" stroke-linejoin="round" stroke-opacity="0.9"/>`+"\n",
			layers[li].class, d.String(), layers[li].color)
	}
	for _, ln := range lines {
		w.printf(`<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f" stroke-dasharray="%s"/>`+"\n",
			ln.class, sx(ln.a.x), sy(ln.a.y), sx(ln.b.x), sy(ln.b.y), ln.color, ln.width, ln.dash)
	}
	w.printf("</g>\n")
	if first {
		w.printf(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" font-size="13">no samples</text>`+"\n", (pl+pr)/2, (pt+pb)/2, colMuted)
	}
	for i, r := range rows {
		y := float64(legendY + i*legendRow)
		for _, it := range r {
			x := pl + it.x
			if it.color != "" {
				dash := ""
				if it.dashed {
					dash = ` stroke-dasharray="5 3"`
				}
				w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", x, y-4, x+16, y-4, it.color, dash)
				x += 20
			}
			w.printf(`<text class="legend" x="%.1f" y="%.1f">%s</text>`+"\n", x, y, esc(it.text))
		}
	}
	w.printf("</svg>\n")
	return w.Bytes()
}

// pairView is one pair as ab.html shows it.
type pairView struct {
	Anchor, Incident, Variant, Title, Runtime, Change string
	BaseVerdict, CandVerdict, BaseExpect, CandExpect  string
	BaseOK, CandOK, Regressed                         bool
	BaseError, CandError                              string
	Reasons                                           []string
	Evals                                             []evalDeltaView
	Charts                                            []chartView
}

type evalDeltaView struct {
	Budget, Base, Candidate, Change string
	BaseVerdict, CandVerdict        string
	Grew, Regressed                 bool
}

func newPairView(i int, p Pair, charts []chartView) pairView {
	rt := strings.TrimSpace(p.Base.Runtime + " " + p.Base.Version)
	if crt := strings.TrimSpace(p.Candidate.Runtime + " " + p.Candidate.Version); crt != rt {
		rt += " → " + crt
	}
	v := pairView{
		Anchor: fmt.Sprintf("p%d", i+1), Incident: p.Incident, Variant: p.Variant, Title: p.Title, Runtime: rt, Change: p.Change,
		BaseVerdict: p.Base.Verdict, CandVerdict: p.Candidate.Verdict, BaseExpect: p.Base.Expect, CandExpect: p.Candidate.Expect,
		BaseOK: p.Base.OK, CandOK: p.Candidate.OK, Regressed: p.Regressed,
		BaseError: p.Base.Error, CandError: p.Candidate.Error, Reasons: p.Reasons, Charts: charts,
	}
	for _, e := range p.Evals {
		ev := evalDeltaView{Budget: budgetCell(e), Base: "—", Candidate: "—", Change: e.Change, Grew: e.Grew, Regressed: e.Regressed}
		if e.Base != nil {
			ev.Base, ev.BaseVerdict = measureValue(*e.Base, e.Unit), string(e.Base.Verdict)
		}
		if e.Candidate != nil {
			ev.Candidate, ev.CandVerdict = measureValue(*e.Candidate, e.Unit), string(e.Candidate.Verdict)
		}
		v.Evals = append(v.Evals, ev)
	}
	return v
}

type comparisonPage struct {
	Base, Candidate          RunRef
	BaseDir, CandDir         string
	BaseStarted, CandStarted string
	Counts                   string
	Regressed                bool
	Pairs                    []pairView
	OnlyBase, OnlyCandidate  []Side
	Warnings                 []string
}

// comparisonHTML renders ab.html. Every value goes through html/template.
func comparisonHTML(c Comparison, views []pairView, baseDir, candDir string) ([]byte, error) {
	page := comparisonPage{
		Base: c.Base, Candidate: c.Candidate, BaseDir: baseDir, CandDir: candDir,
		BaseStarted: stamp(c.Base.Started), CandStarted: stamp(c.Candidate.Started),
		Counts: c.countsLine(), Regressed: c.Regressions > 0,
		Pairs: views, OnlyBase: c.OnlyBase, OnlyCandidate: c.OnlyCandidate, Warnings: c.Warnings,
	}
	var b bytes.Buffer
	if err := compareTmpl.Execute(&b, page); err != nil {
		return nil, fmt.Errorf("render %s: %w", CompareHTMLFile, err)
	}
	return b.Bytes(), nil
}

var compareTmpl = template.Must(template.New("ab").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relapse A/B {{.Base.ID}} vs {{.Candidate.ID}}: {{.Counts}}</title>
<style>
:root { --ok: #15803d; --ok-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2; --muted: #6b7280; --line: #e5e7eb; --head: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 24px 28px 48px; max-width: 1540px; color: #111827; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 17px; margin: 0; font-weight: 650; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
a { color: #1d4ed8; text-decoration: none; }
.muted { color: var(--muted); }
.runs { margin: 0 0 12px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.runs dt { font-weight: 600; }
.runs dd { margin: 0; }
.swatch { display: inline-block; width: 14px; height: 4px; vertical-align: middle; margin-right: 6px; }
.counts { display: inline-block; margin: 6px 0 14px; padding: 4px 12px; border-radius: 6px; font-weight: 600; }
.counts.ok { background: var(--ok-bg); color: var(--ok); }
.counts.bad { background: var(--bad-bg); color: var(--bad); }
.warn { color: #92400e; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #374151; }
td.nowrap { white-space: nowrap; }
tr.regressed td { background: #fff5f5; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 700; }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.verdict { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.verdict.breach { color: #9a3412; border-color: #fdba74; background: #fff7ed; }
.verdict.hold { color: #1e3a8a; border-color: #93c5fd; background: #eff6ff; }
.verdict.inconclusive { color: #4b5563; border-color: #d1d5db; background: #f9fafb; }
section.pair { margin: 36px 0 0; padding-top: 16px; border-top: 2px solid var(--line); }
.reasons { color: var(--bad); }
.charts { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 10px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
figure img { display: block; width: 720px; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: var(--muted); padding: 4px 2px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<h1>relapse A/B</h1>
<dl class="runs">
<dt><span class="swatch" style="background:#1f5fbf"></span>base</dt><dd><code>{{.Base.ID}}</code> · {{range $i, $r := .Base.Runtimes}}{{if $i}}, {{end}}{{$r}}{{end}} · started {{.BaseStarted}} · kernel {{.Base.Host.Kernel}} · <span class="muted">{{.BaseDir}}</span></dd>
<dt><span class="swatch" style="background:#e07b00"></span>candidate</dt><dd><code>{{.Candidate.ID}}</code> · {{range $i, $r := .Candidate.Runtimes}}{{if $i}}, {{end}}{{$r}}{{end}} · started {{.CandStarted}} · kernel {{.Candidate.Host.Kernel}} · <span class="muted">{{.CandDir}}</span></dd>
</dl>
<div class="counts {{if .Regressed}}bad{{else}}ok{{end}}">{{.Counts}}</div>
{{if .Pairs}}
<table class="compare">
<thead><tr><th>incident</th><th>variant</th><th>runtime</th><th>budget</th><th>base</th><th>candidate</th><th>change</th><th></th></tr></thead>
<tbody>
{{range .Pairs}}{{$p := .}}{{if .Evals}}{{range $i, $e := .Evals}}<tr{{if $e.Regressed}} class="regressed"{{end}}>
<td class="nowrap">{{if not $i}}<a href="#{{$p.Anchor}}">{{$p.Incident}}</a>{{end}}</td>
<td class="nowrap">{{if not $i}}{{$p.Variant}}{{end}}</td>
<td class="nowrap">{{if not $i}}{{$p.Runtime}}{{end}}</td>
<td class="mono">{{$e.Budget}}</td>
<td class="mono">{{$e.Base}} {{if $e.BaseVerdict}}<span class="verdict {{$e.BaseVerdict}}">{{$e.BaseVerdict}}</span>{{end}}</td>
<td class="mono">{{$e.Candidate}} {{if $e.CandVerdict}}<span class="verdict {{$e.CandVerdict}}">{{$e.CandVerdict}}</span>{{end}}</td>
<td>{{$e.Change}}</td>
<td>{{if $e.Regressed}}<span class="badge bad">regressed</span>{{else if and (not $i) $p.Regressed}}<span class="badge bad">regressed</span>{{end}}</td>
</tr>
{{end}}{{else}}<tr{{if .Regressed}} class="regressed"{{end}}>
<td class="nowrap"><a href="#{{.Anchor}}">{{.Incident}}</a></td><td class="nowrap">{{.Variant}}</td><td class="nowrap">{{.Runtime}}</td>
<td class="muted">no budgets judged</td>
<td><span class="verdict {{.BaseVerdict}}">{{.BaseVerdict}}</span></td><td><span class="verdict {{.CandVerdict}}">{{.CandVerdict}}</span></td>
<td>{{.Change}}</td><td>{{if .Regressed}}<span class="badge bad">regressed</span>{{end}}</td>
</tr>
{{end}}{{end}}</tbody>
</table>
{{else}}
<p class="muted">The runs have no incident variant in common.</p>
{{end}}
{{if .OnlyBase}}<h2>Only in the base</h2><ul>{{range .OnlyBase}}<li>{{.Incident}} / {{.Variant}} ({{.Runtime}} {{.Version}}, {{.Verdict}}){{if .OK}} <span class="badge bad">regressed: missing from the candidate</span>{{end}}</li>{{end}}</ul>{{end}}
{{if .OnlyCandidate}}<h2>Only in the candidate</h2><ul>{{range .OnlyCandidate}}<li>{{.Incident}} / {{.Variant}} ({{.Runtime}} {{.Version}}, {{.Verdict}})</li>{{end}}</ul>{{end}}
{{range .Warnings}}<p class="warn">warning: {{.}}</p>{{end}}
{{range .Pairs}}
<section class="pair" id="{{.Anchor}}">
<h2>{{.Incident}} / {{.Variant}} {{if .Regressed}}<span class="badge bad">regressed</span>{{else}}<span class="badge ok">not regressed</span>{{end}}</h2>
{{if .Title}}<p>{{.Title}}</p>{{end}}
<p>{{.Runtime}}: {{.Change}}. Base expected {{.BaseExpect}}, gave <span class="verdict {{.BaseVerdict}}">{{.BaseVerdict}}</span>{{if .BaseOK}} (ok){{else}} (failed){{end}}; candidate expected {{.CandExpect}}, gave <span class="verdict {{.CandVerdict}}">{{.CandVerdict}}</span>{{if .CandOK}} (ok){{else}} (failed){{end}}.</p>
{{if .BaseError}}<p class="warn">base error: {{.BaseError}}</p>{{end}}
{{if .CandError}}<p class="reasons">candidate error: {{.CandError}}</p>{{end}}
{{if .Reasons}}<ul class="reasons">{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="charts">
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Alt}}" width="720" height="300" loading="lazy"><figcaption>{{.Alt}}</figcaption></figure>
{{else}}<p class="muted">No series of both runs to overlay.</p>
{{end}}</div>
</section>
{{end}}
<footer>Written by relapse. Machine-readable: <a href="./ab.json">ab.json</a> · <a href="./ab.txt">ab.txt</a>. Charts: blue = base, orange = candidate, dotted = each run's Theil-Sen fit, red dashed = the candidate's budget; time is counted from each run's stimulus start.</footer>
</body>
</html>
`))
