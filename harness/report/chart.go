package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Colours: data in blue, the fit in orange, budgets in red and dashed, so a
// reader sees at once whether the curve runs above the budget. On an A/B
// chart the base is blue and the candidate orange.
const (
	colData      = "#1f5fbf"
	colFit       = "#e07b00"
	colBudget    = "#c62828"
	colPhase     = "#6b7280"
	colBase      = colData
	colCandidate = colFit
)

// Chart draws a series against time as a self-contained SVG: the values,
// the budgets on it (a slope budget as a dashed line of the budget's slope
// from where the fit starts, a ceiling or growth bound as a horizontal
// dashed line, a residual bound over the settle window), the Theil-Sen fit
// of each slope evaluation, and the phase markers. evals may hold
// evaluations of other metrics; only those of s.Metric are drawn. It is a
// pure function so charts can be regenerated from a stored series.
func Chart(s curve.Series, evals []curve.Evaluation, title string) []byte {
	return plot{title: title, axis: curve.PerSecond, layers: []layer{{s: s, evals: evals, color: colData}}}.svg()
}

// ChartPerOp draws the series against the stimulus op count, for metrics
// with a per-op budget (goroutines per kill, kmem per request), where time
// is the wrong x axis.
func ChartPerOp(s curve.Series, evals []curve.Evaluation, title string) []byte {
	return plot{title: title, axis: curve.PerOp, layers: []layer{{s: s, evals: evals, color: colData}}}.svg()
}

// layer is one run's series of a metric on a chart.
type layer struct {
	s     curve.Series
	evals []curve.Evaluation
	color string
	// class names the layer in the SVG ("base", "candidate"); empty for
	// the one layer of a single run's chart.
	class string
	// label is the legend text of the data; empty means the metric and unit.
	label string
}

// plot is one chart: the layers of one metric on one x axis. The last
// layer's budgets are drawn (on an A/B chart, the candidate's: the bound it
// is judged against). With one layer its phases are marked and its fit has
// a legend entry of its own; with several, time is counted from each
// layer's stimulus start so runs with different baselines line up, and
// each fit is dotted in its layer's colour.
type plot struct {
	title  string
	axis   curve.Axis
	layers []layer
	// headlines says the layers' labels already carry their measured
	// numbers (a run's overview of many variants): fits are not drawn, as
	// a dozen dotted lines would hide the curves they summarise.
	headlines bool
	// sharedBudget says every layer is judged by the same budget, so the
	// legend does not attribute the one drawn to the last layer.
	sharedBudget bool
	// growLegend makes the chart taller by the legend's extra rows, so a
	// legend of many layers does not squash the plot.
	growLegend bool
}

// xy is a point in data coordinates.
type xy struct{ x, y float64 }

// segment is a line in data coordinates.
type segment struct {
	a, b         xy
	color, class string
	dash         string
	width        float64
}

func (p plot) single() bool { return len(p.layers) == 1 }

// x places a point of l on the chart's x axis.
func (p plot) x(l layer) func(curve.Point) float64 {
	if p.single() || p.axis == curve.PerOp {
		return p.axis.X
	}
	start, _ := l.s.PhaseAt(curve.PhaseStimulus)
	return func(pt curve.Point) float64 { return pt.T - start }
}

func (p plot) svg() []byte {
	bounds := newExtent()
	data := make([][]xy, len(p.layers))
	var legend []legendItem
	var segs []segment
	for li, l := range p.layers {
		data[li] = p.points(l, &bounds)
		fits, items := p.fits(l)
		segs = append(segs, fits...)
		legend = append(legend, items...)
	}
	unit := ""
	if n := len(p.layers); n > 0 {
		last := p.layers[n-1]
		unit = last.s.Unit
		budgets, items := p.budgets(last, &bounds)
		segs = append(segs, budgets...)
		legend = append(legend, items...)
	}

	xlo, xhi, ylo, yhi := bounds.ranges()
	xTitle := "time (s)"
	switch {
	case p.axis == curve.PerOp:
		xTitle = "stimulus ops"
	case !p.single():
		xTitle = "time since the stimulus started (s)"
	}
	xlo, xhi, xticks := axisTicks(xlo, xhi, 8, "")
	ylo, yhi, yticks := axisTicks(ylo, yhi, 5, unit)
	f := newPlotFrame(legend, xlo, xhi, ylo, yhi, p.growLegend)
	var w svgWriter
	f.open(&w, p.title, xTitle, xticks, yticks)
	if p.single() {
		f.phases(&w, p.layers[0].s, p.axis, xlo, xhi)
	}
	for li, pts := range data {
		if len(pts) == 0 {
			continue
		}
		var d strings.Builder
		for i, pt := range decimate(pts, f.sx) {
			c := 'L'
			if i == 0 {
				c = 'M'
			}
			fmt.Fprintf(&d, "%c%.1f %.1f", c, f.sx(pt.x), f.sy(pt.y))
		}
		class := "data"
		if l := p.layers[li]; l.class != "" {
			class += " series-" + l.class
		}
		w.printf(`<path class="%s" d="%s" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>`+"\n", class, d.String(), p.layers[li].color)
	}
	for _, sg := range segs {
		dash := ""
		if sg.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, sg.dash)
		}
		w.printf(`<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n",
			sg.class, f.sx(sg.a.x), f.sy(sg.a.y), f.sx(sg.b.x), f.sy(sg.b.y), sg.color, sg.width, dash)
	}
	f.close(&w, bounds.empty)
	return w.Bytes()
}

// points returns the layer's finite points in chart coordinates and widens
// the bounds to hold them.
func (p plot) points(l layer, b *extent) []xy {
	x := p.x(l)
	settle, settled := l.s.PhaseAt(curve.PhaseSettle)
	var pts []xy
	for _, pt := range l.s.Points {
		// Against ops the settle phase is one stack of samples at the last
		// op count: it belongs to the time chart.
		if p.axis == curve.PerOp && settled && pt.T >= settle {
			continue
		}
		px := x(pt)
		if finite(px) && finite(pt.V) {
			pts = append(pts, xy{px, pt.V})
			b.add(px, pt.V)
		}
	}
	return pts
}

// fits returns the Theil-Sen fit of each of the layer's slope budgets on
// this axis, and the layer's legend entries.
func (p plot) fits(l layer) ([]segment, []legendItem) {
	unit := l.s.Unit
	label := l.label
	if label == "" {
		label = seriesLabel(l.s)
	}
	var segs []segment
	var fitItems []legendItem
	for _, e := range l.evals {
		b := e.Budget
		if b.Metric != l.s.Metric || b.Kind != curve.Slope || b.Per != p.axis || p.headlines {
			continue
		}
		f := e.Fit
		a, z, ok := p.window(l, b)
		if f == nil || f.N == 0 || !finite(f.Slope) || !finite(f.Intercept) || !ok {
			continue
		}
		seg := segment{a: xy{a.x, f.Intercept + f.Slope*a.y}, b: xy{z.x, f.Intercept + f.Slope*z.y}}
		if p.single() {
			seg.color, seg.class, seg.width = colFit, "fit", 2
			fitItems = append(fitItems, legendItem{color: colFit, text: fitLabel(*f, b.Unit(unit))})
		} else {
			seg.color, seg.class, seg.dash, seg.width = l.color, "fit-"+l.class, "2 3", 1.4
			label += " · " + fitLabel(*f, b.Unit(unit))
		}
		segs = append(segs, seg)
	}
	return segs, append([]legendItem{{color: l.color, text: label}}, fitItems...)
}

// window is where a slope budget is fitted, as two points whose x is the
// chart's and whose y is the fit's own x (seconds since sampling began, or
// ops), so the fit and budget lines can be computed at both ends.
func (p plot) window(l layer, b curve.Budget) (from, to xy, ok bool) {
	win := slopeWindow(l.s, b)
	if len(win) == 0 {
		return xy{}, xy{}, false
	}
	x0, x1 := b.Per.X(win[0]), b.Per.X(win[0])
	for _, pt := range win {
		x0, x1 = math.Min(x0, b.Per.X(pt)), math.Max(x1, b.Per.X(pt))
	}
	shift := b.Per.X(win[0]) - p.x(l)(win[0])
	return xy{x0 - shift, x0}, xy{x1 - shift, x1}, true
}

// budgets draws the layer's budgets and says in the legend where each is.
// A horizontal level widens the y range only when near enough not to
// squash the data; otherwise the legend says where it is.
func (p plot) budgets(l layer, bounds *extent) ([]segment, []legendItem) {
	unit := l.s.Unit
	note := ""
	if !p.single() && !p.sharedBudget {
		note = " (" + l.class + ")"
	}
	data := *bounds
	dataSpan := math.Max(data.yhi-data.ylo, math.Abs(data.yhi)*0.05)
	level := func(lv float64) (string, bool) {
		switch {
		case !finite(lv):
			return " (not finite)", false
		case !data.empty && lv > data.yhi+3*dataSpan:
			return " (off the chart, above)", false
		case !data.empty && lv < data.ylo-3*dataSpan:
			return " (off the chart, below)", false
		}
		bounds.addY(lv)
		return "", true
	}
	budget := func(a, b xy, width float64) segment {
		return segment{a: a, b: b, color: colBudget, class: "budget", dash: "7 5", width: width}
	}
	var segs []segment
	var legend []legendItem
	for _, e := range l.evals {
		b := e.Budget
		if b.Metric != l.s.Metric {
			continue
		}
		bu := b.Unit(unit)
		switch b.Kind {
		case curve.Slope:
			if b.Per != p.axis {
				other := "time"
				if b.Per == curve.PerOp {
					other = "per-op"
				}
				legend = append(legend, legendItem{text: fmt.Sprintf("slope budget %s: see %s chart", results.Quantity(b.Max, bu), other)})
				continue
			}
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "slope budget " + results.Quantity(b.Max, bu)})
			from, to, ok := p.window(l, b)
			if !ok {
				continue
			}
			y0 := slopeWindow(l.s, b)[0].V
			if f := e.Fit; f != nil && f.N > 0 && finite(f.Slope) && finite(f.Intercept) {
				y0 = f.Intercept + f.Slope*from.y
			}
			segs = append(segs, budget(xy{from.x, y0}, xy{to.x, y0 + b.Max*(to.y-from.y)}, 1.6))
		case curve.Ceiling, curve.Growth:
			lv, name := b.Max, "ceiling "
			if b.Kind == curve.Growth {
				lv, name = e.Baseline+b.Max, "growth budget +"
			}
			where, ok := level(lv)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: name + results.Quantity(b.Max, bu) + note + where})
			if ok {
				segs = append(segs, budget(xy{data.xmin, lv}, xy{data.xmax, lv}, 1.6))
			}
		case curve.Residual:
			if p.axis != curve.PerSecond {
				continue
			}
			if e.Verdict == curve.Inconclusive || data.empty {
				legend = append(legend, legendItem{text: "residual budget +" + results.Quantity(b.Max, bu) + " (not judged)"})
				continue
			}
			w := b.SettleWindow
			if w == 0 {
				w = 3 // curve.Evaluate's default settle window
			}
			lv := e.Baseline + b.Max
			where, ok := level(lv)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "residual budget +" + results.Quantity(b.Max, bu) + note + where})
			if ok {
				segs = append(segs, budget(xy{data.xmax - w, lv}, xy{data.xmax, lv}, 2.2))
			}
		}
	}
	return segs, legend
}

// extent is the data range a chart must show; empty until a point is
// added, when it spans 0..1.
type extent struct {
	xmin, xmax, ylo, yhi float64
	empty                bool
}

func newExtent() extent { return extent{xmin: 0, xmax: 1, ylo: 0, yhi: 1, empty: true} }

func (e *extent) add(x, y float64) {
	if e.empty {
		*e = extent{xmin: x, xmax: x, ylo: y, yhi: y}
		return
	}
	e.xmin, e.xmax = math.Min(e.xmin, x), math.Max(e.xmax, x)
	e.addY(y)
}

func (e *extent) addY(y float64) { e.ylo, e.yhi = math.Min(e.ylo, y), math.Max(e.yhi, y) }

// ranges pads the extent for drawing: values that span half their height
// read best from zero, a flat line gets room around it, and an x range
// that starts near zero starts at zero.
func (e extent) ranges() (xlo, xhi, ylo, yhi float64) {
	xlo, xhi, ylo, yhi = e.xmin, e.xmax, e.ylo, e.yhi
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
	if xlo > 0 && xlo < (xhi-xlo)*0.2 {
		xlo = 0
	}
	return xlo, xhi, ylo, yhi
}
