package report

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// Palettes of the overview: variants that must breach (the vulnerable
// builds and configs) in warm colours, variants that must hold (the fixed
// ones) in cool greens and blues, so a reader tells them apart before
// reading the legend. Neither uses the budget's red.
var (
	breachPalette = [...]string{"#ea580c", "#db2777", "#b45309", "#9333ea", "#f59e0b", "#be123c"}
	holdPalette   = [...]string{"#15803d", "#0891b2", "#2563eb", "#65a30d", "#0f766e", "#4f46e5", "#166534", "#0369a1"}
)

// Overview is one picture of an incident on index.html: the primary curve
// of each of its variants overlaid, with the primary budget, so a reader
// sees at once which variants grew and which held. An incident whose
// variants are judged on different metrics (or axes) gets one overview per
// metric: curves in different units cannot share a y axis.
type Overview struct {
	Incident, Metric string
	Axis             curve.Axis
	// File is where the SVG goes, relative to the run directory.
	File string
	SVG  []byte
	// Variants is how many variants are drawn; Missing names those whose
	// primary series could not be read, and why.
	Variants int
	Missing  []string
}

// overviewMember is one variant of an overview with its primary series.
type overviewMember struct {
	r       results.Result
	primary curve.Evaluation
	s       curve.Series
}

// Overviews draws every incident's overview from the primary series the
// run's results name, read from the run directory dir. A variant whose
// series cannot be read is listed in Missing rather than failing the page:
// the page of a run that went wrong is the one most worth reading.
func Overviews(dir string, run results.Run) []Overview {
	type key struct {
		incident, metric string
		axis             curve.Axis
	}
	var order []key
	groups := map[key]*Overview{}
	members := map[key][]overviewMember{}
	for _, r := range run.Results {
		primary, ok := judge.Primary(r.Evaluations)
		if !ok || r.Metric == "" {
			continue
		}
		k := key{r.Incident, r.Metric, overviewAxis(primary.Budget)}
		o, seen := groups[k]
		if !seen {
			o = &Overview{Incident: r.Incident, Metric: r.Metric, Axis: k.axis, File: overviewFile(r.Incident, r.Metric, k.axis)}
			groups[k] = o
			order = append(order, k)
		}
		s, err := loadPrimary(dir, r)
		if err != nil {
			o.Missing = append(o.Missing, fmt.Sprintf("%s: %v", results.VariantDirName(r.Variant, r.Cell), err))
			continue
		}
		members[k] = append(members[k], overviewMember{r: r, primary: primary, s: s})
	}
	out := make([]Overview, 0, len(order))
	for _, k := range order {
		o := groups[k]
		o.Variants = len(members[k])
		if o.Variants > 0 {
			o.SVG = overviewChart(k.incident, k.metric, k.axis, members[k])
		}
		out = append(out, *o)
	}
	return out
}

// overviewAxis is the x axis the primary budget is judged on: ops for a
// per-op slope, else time.
func overviewAxis(b curve.Budget) curve.Axis {
	if b.Kind == curve.Slope && b.Per == curve.PerOp {
		return curve.PerOp
	}
	return curve.PerSecond
}

// overviewFile is the overview's SVG in the incident's directory, next to
// its variants' directories.
func overviewFile(incident, metric string, axis curve.Axis) string {
	name := "overview-" + fileSafe(metric)
	if axis == curve.PerOp {
		name += "-per-op"
	}
	return path.Join(incident, name+".svg")
}

// loadPrimary reads the JSON twin of a result's primary series CSV.
func loadPrimary(dir string, r results.Result) (curve.Series, error) {
	if r.Series == "" {
		return curve.Series{}, fmt.Errorf("no series recorded")
	}
	return results.LoadSeries(filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(r.Series, ".csv")+".json")))
}

// overviewChart overlays the members' primary series. Variants that must
// breach come first and those that must hold last, so the budget drawn
// (the last layer's) is one a fixed variant is judged against.
func overviewChart(incident, metric string, axis curve.Axis, members []overviewMember) []byte {
	ordered := slices.Clone(members)
	slices.SortStableFunc(ordered, func(a, b overviewMember) int {
		return expectRank(a.r.Expect) - expectRank(b.r.Expect)
	})
	p := plot{axis: axis, headlines: true, growLegend: true, sharedBudget: true}
	var nb, nh int
	for _, m := range ordered {
		color := holdPalette[nh%len(holdPalette)]
		if m.r.Expect == string(curve.Breach) {
			color = breachPalette[nb%len(breachPalette)]
			nb++
		} else {
			nh++
		}
		if !sameBudget(m.primary.Budget, ordered[0].primary.Budget) {
			p.sharedBudget = false
		}
		p.layers = append(p.layers, layer{
			s: m.s, evals: []curve.Evaluation{m.primary}, color: color,
			class: fileSafe(results.VariantDirName(m.r.Variant, m.r.Cell)), label: headlineLabel(m.r),
		})
	}
	p.title = fmt.Sprintf("%s: %s", incident, metric)
	if axis == curve.PerOp {
		p.title += " per op"
	}
	return p.svg()
}

// expectRank orders variants that must breach before those that must hold.
func expectRank(expect string) int {
	if expect == string(curve.Breach) {
		return 0
	}
	return 1
}

// sameBudget says whether two primary budgets bound alike.
func sameBudget(a, b curve.Budget) bool {
	return a.Kind == b.Kind && a.Per == b.Per && a.Max == b.Max && a.Warmup == b.Warmup && a.SettleWindow == b.SettleWindow
}

// headlineLabel is a layer's legend: "unlimited@containerd-1.7.18: breach,
// slope 53.5 MiB/s", with what went wrong when the variant did not give the
// verdict it must.
func headlineLabel(r results.Result) string {
	l := results.VariantDirName(r.Variant, r.Cell) + ": " + r.Verdict + ", " + headline(r)
	switch {
	case r.Error != "":
		l += " ✗ error"
	case !r.OK:
		l += " ✗ expected " + r.Expect
	}
	return l
}

// headline is a result's primary measured number in words: "slope 53.5
// MiB/s", "peak 1.22 GiB".
func headline(r results.Result) string {
	word := "slope "
	switch r.BudgetKind {
	case curve.Ceiling:
		word = "peak "
	case curve.Growth:
		word = "growth +"
	case curve.Residual:
		word = "residual +"
	}
	if r.Slope < 0 {
		word = strings.TrimSuffix(word, "+")
	}
	return word + results.Quantity(r.Slope, r.SlopeUnit)
}
