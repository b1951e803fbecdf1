package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Chart geometry, in SVG user units (pixels at 100%).
const (
	chartW     = 720
	chartH     = 300
	padL       = 70
	padR       = 18
	padB       = 38
	titleY     = 19
	legendY    = 37
	legendRow  = 15
	plotGapTop = 12
	charW      = 6.1 // rough width of an 11px sans-serif character
)

// Colours: data in blue, the fit in orange, budgets in red and dashed, so a
// reader sees at once whether the curve runs above the budget.
const (
	colData   = "#1f5fbf"
	colFit    = "#e07b00"
	colBudget = "#c62828"
	colPhase  = "#6b7280"
	colGrid   = "#e5e7eb"
	colAxis   = "#374151"
	colText   = "#111827"
	colMuted  = "#6b7280"
	fontStack = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
)

// Chart draws a series against time as a self-contained SVG: the values,
// the budgets on it (a slope budget as a dashed line of the budget's slope
// from where the fit starts, a ceiling or growth bound as a horizontal
// dashed line, a residual bound over the settle window), the Theil-Sen fit
// of each slope evaluation, and the phase markers. evals may hold
// evaluations of other metrics; only those of s.Metric are drawn. It is a
// pure function so charts can be regenerated from a stored series.
func Chart(s curve.Series, evals []curve.Evaluation, title string) []byte {
	return chart(s, evals, title, curve.PerSecond)
}

// ChartPerOp draws the series against the stimulus op count, for metrics
// with a per-op budget (goroutines per kill, kmem per request), where time
// is the wrong x axis.
func ChartPerOp(s curve.Series, evals []curve.Evaluation, title string) []byte {
	return chart(s, evals, title, curve.PerOp)
}

// xy is a point in data coordinates.
type xy struct{ x, y float64 }

// segment is a line in data coordinates.
type segment struct {
	a, b   xy
	color  string
	dashed bool
	width  float64
}

// legendItem is a swatch (or none) and its text.
type legendItem struct {
	color  string
	dashed bool
	text   string
}

func chart(s curve.Series, evals []curve.Evaluation, title string, axis curve.Axis) []byte {
	settle, settled := s.PhaseAt(curve.PhaseSettle)
	pts := make([]xy, 0, len(s.Points))
	for _, p := range s.Points {
		// Against ops the settle phase is one stack of samples at the last
		// op count: it belongs to the time chart.
		if axis == curve.PerOp && settled && p.T >= settle {
			continue
		}
		x := axis.X(p)
		if finite(x) && finite(p.V) {
			pts = append(pts, xy{x, p.V})
		}
	}

	xmin, xmax, ylo, yhi := 0.0, 1.0, 0.0, 1.0
	if len(pts) > 0 {
		xmin, xmax, ylo, yhi = pts[0].x, pts[0].x, pts[0].y, pts[0].y
		for _, p := range pts {
			xmin, xmax = math.Min(xmin, p.x), math.Max(xmax, p.x)
			ylo, yhi = math.Min(ylo, p.y), math.Max(yhi, p.y)
		}
	}
	// A horizontal budget level widens the y range only when near enough
	// not to squash the data; otherwise the legend says where it is.
	dataLo, dataHi := ylo, yhi
	dataSpan := math.Max(yhi-ylo, math.Abs(yhi)*0.05)
	level := func(lv float64) (string, bool) {
		switch {
		case !finite(lv):
			return " (not finite)", false
		case len(pts) > 0 && lv > dataHi+3*dataSpan:
			return " (off the chart, above)", false
		case len(pts) > 0 && lv < dataLo-3*dataSpan:
			return " (off the chart, below)", false
		}
		ylo, yhi = math.Min(ylo, lv), math.Max(yhi, lv)
		return "", true
	}

	legend := []legendItem{{color: colData, text: seriesLabel(s)}}
	var segs []segment
	for _, e := range evals {
		if e.Budget.Metric != s.Metric {
			continue
		}
		b := e.Budget
		unit := b.Unit(s.Unit)
		switch b.Kind {
		case curve.Slope:
			if b.Per != axis {
				other := "time"
				if b.Per == curve.PerOp {
					other = "per-op"
				}
				legend = append(legend, legendItem{text: fmt.Sprintf("slope budget %s: see %s chart", Quantity(b.Max, unit), other)})
				continue
			}
			win := slopeWindow(s, b)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "slope budget " + Quantity(b.Max, unit)})
			if len(win) == 0 {
				continue
			}
			x0, x1 := b.Per.X(win[0]), b.Per.X(win[0])
			for _, p := range win {
				x0, x1 = math.Min(x0, b.Per.X(p)), math.Max(x1, b.Per.X(p))
			}
			y0 := win[0].V
			if f := e.Fit; f != nil && f.N > 0 && finite(f.Slope) && finite(f.Intercept) {
				y0 = f.Intercept + f.Slope*x0
				segs = append(segs, segment{a: xy{x0, y0}, b: xy{x1, f.Intercept + f.Slope*x1}, color: colFit, width: 2})
				legend = append(legend, legendItem{color: colFit, text: fitLabel(*f, unit)})
			}
			segs = append(segs, segment{a: xy{x0, y0}, b: xy{x1, y0 + b.Max*(x1-x0)}, color: colBudget, dashed: true, width: 1.6})
		case curve.Ceiling:
			note, ok := level(b.Max)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "ceiling " + Quantity(b.Max, unit) + note})
			if ok {
				segs = append(segs, segment{a: xy{xmin, b.Max}, b: xy{xmax, b.Max}, color: colBudget, dashed: true, width: 1.6})
			}
		case curve.Growth:
			lv := e.Baseline + b.Max
			note, ok := level(lv)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "growth budget +" + Quantity(b.Max, unit) + note})
			if ok {
				segs = append(segs, segment{a: xy{xmin, lv}, b: xy{xmax, lv}, color: colBudget, dashed: true, width: 1.6})
			}
		case curve.Residual:
			if axis != curve.PerSecond {
				continue
			}
			if e.Verdict == curve.Inconclusive || len(pts) == 0 {
				legend = append(legend, legendItem{text: "residual budget +" + Quantity(b.Max, unit) + " (not judged)"})
				continue
			}
			w := b.SettleWindow
			if w == 0 {
				w = 3 // curve.Evaluate's default settle window
			}
			lv := e.Baseline + b.Max
			note, ok := level(lv)
			legend = append(legend, legendItem{color: colBudget, dashed: true, text: "residual budget +" + Quantity(b.Max, unit) + note})
			if ok {
				segs = append(segs, segment{a: xy{xmax - w, lv}, b: xy{xmax, lv}, color: colBudget, dashed: true, width: 2.2})
			}
		}
	}

	switch {
	case ylo >= 0 && ylo <= yhi/2:
		ylo = 0 // values that span half their height read best from zero
	case yhi == ylo:
		pad := math.Max(math.Abs(yhi)*0.01, 1)
		ylo, yhi = ylo-pad, yhi+pad
	default:
		pad := (yhi - ylo) * 0.05
		ylo, yhi = ylo-pad, yhi+pad
	}

	xUnit, xTitle := "", "time (s)"
	if axis == curve.PerOp {
		xTitle = "stimulus ops"
	}
	if xmin > 0 && xmin < (xmax-xmin)*0.2 {
		xmin = 0
	}
	xlo, xhi, xticks := axisTicks(xmin, xmax, 8, xUnit)
	ylo, yhi, yticks := axisTicks(ylo, yhi, 5, s.Unit)

	f := newPlotFrame(legend, xlo, xhi, ylo, yhi)
	pl, pr, pt, pb, sx, sy := f.pl, f.pr, f.pt, f.pb, f.sx, f.sy
	rows := f.rows
	var w svgWriter
	f.open(&w, title, xTitle, xticks, yticks)
	// Phase markers, labels staggered when close.
	lastLabelX, row := -1e9, 0
	for _, ph := range s.Phases {
		x := ph.T
		if axis == curve.PerOp {
			var ok bool
			if x, ok = opAt(s, ph.T); !ok {
				continue
			}
		}
		if x < xlo || x > xhi {
			continue
		}
		px := sx(x)
		labelW := float64(len(ph.Name)) * charW
		if px-lastLabelX < labelW+8 {
			row = (row + 1) % 3
		} else {
			row = 0
		}
		lastLabelX = px
		lx, anchor := px+3, "start"
		if lx+labelW > pr {
			lx, anchor = px-3, "end"
		}
		w.printf(`<line class="phase" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="2 3"/>`+"\n", px, pt, px, pb, colPhase)
		w.printf(`<text class="phase" x="%.1f" y="%.1f" text-anchor="%s" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
			lx, pt+11+float64(row)*12, anchor, colPhase, esc(ph.Name))
	}
	if len(pts) > 0 {
		var d strings.Builder
		for i, p := range decimate(pts, sx) {
			cmd := 'L'
			if i == 0 {
				cmd = 'M'
			}
			fmt.Fprintf(&d, "%c%.1f %.1f", cmd, sx(p.x), sy(p.y))
		}
		w.printf(`<path class="data" d="%s" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>`+"\n", d.String(), colData)
	}
	for _, sg := range segs {
		dash := ""
		if sg.dashed {
			dash = ` stroke-dasharray="7 5"`
		}
		class := "fit"
		if sg.color == colBudget {
			class = "budget"
		}
		w.printf(`<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n",
			class, sx(sg.a.x), sy(sg.a.y), sx(sg.b.x), sy(sg.b.y), sg.color, sg.width, dash)
	}
	w.printf("</g>\n")
	if len(pts) == 0 {
		w.printf(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" font-size="13">no samples</text>`+"\n", (pl+pr)/2, (pt+pb)/2, colMuted)
	}

	// Legend.
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
			fill := colText
			if it.color == "" {
				fill = colMuted
			}
			w.printf(`<text class="legend" x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x, y, fill, esc(it.text))
		}
	}
	w.printf("</svg>\n")
	return w.Bytes()
}

// placed is a legend item with its x offset in its row.
type placed struct {
	legendItem
	x float64
}

// layoutLegend flows legend items into rows no wider than width.
func layoutLegend(items []legendItem, width float64) [][]placed {
	var rows [][]placed
	var row []placed
	x := 0.0
	for _, it := range items {
		w := float64(len(it.text)) * charW
		if it.color != "" {
			w += 20
		}
		if x > 0 && x+w > width {
			rows, row, x = append(rows, row), nil, 0
		}
		row = append(row, placed{it, x})
		x += w + 16
	}
	return append(rows, row)
}

// slopeWindow returns the points curve.Evaluate fits a slope budget on:
// from the stimulus phase (plus the warm-up in seconds, or ops at or past
// the warm-up), up to the settle phase.
func slopeWindow(s curve.Series, b curve.Budget) []curve.Point {
	from, _ := s.PhaseAt(curve.PhaseStimulus)
	to, settled := s.PhaseAt(curve.PhaseSettle)
	var out []curve.Point
	for _, p := range s.Points {
		if p.T < from || (settled && p.T >= to) || !finite(p.V) {
			continue
		}
		if (b.Per == curve.PerSecond && p.T < from+b.Warmup) || (b.Per == curve.PerOp && p.Op < b.Warmup) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// opAt is the op count of the first sample at or after t.
func opAt(s curve.Series, t float64) (float64, bool) {
	for _, p := range s.Points {
		if p.T >= t {
			return p.Op, true
		}
	}
	if n := len(s.Points); n > 0 {
		return s.Points[n-1].Op, true
	}
	return 0, false
}

// decimate keeps, per pixel column, the first, lowest, highest and last
// point, so a long run stays a small file and still shows every spike.
func decimate(pts []xy, sx func(float64) float64) []xy {
	if len(pts) <= 4*chartW {
		return pts
	}
	out := make([]xy, 0, 4*chartW)
	flush := func(b []xy) {
		if len(b) == 0 {
			return
		}
		lo, hi := 0, 0
		for i, p := range b {
			if p.y < b[lo].y {
				lo = i
			}
			if p.y > b[hi].y {
				hi = i
			}
		}
		keep := map[int]bool{0: true, lo: true, hi: true, len(b) - 1: true}
		for i := range b {
			if keep[i] {
				out = append(out, b[i])
			}
		}
	}
	start, col := 0, math.Floor(sx(pts[0].x))
	for i, p := range pts {
		if c := math.Floor(sx(p.x)); c != col {
			flush(pts[start:i])
			start, col = i, c
		}
	}
	flush(pts[start:])
	return out
}

func seriesLabel(s curve.Series) string {
	if s.Unit == "" {
		return s.Metric
	}
	return s.Metric + " (" + s.Unit + ")"
}

func fitLabel(f curve.Fit, unit string) string {
	return "fit " + Quantity(f.Slope, unit) + ciText(f, unit)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// esc escapes text for SVG element content and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// svgWriter accumulates SVG text.
type svgWriter struct{ bytes.Buffer }

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.Buffer, format, args...) }

// ciText is " (95% CI lo to hi)", or "" when the interval would print the
// same as the slope.
func ciText(f curve.Fit, unit string) string {
	if !finite(f.Lo) || !finite(f.Hi) || f.Confidence <= 0 {
		return ""
	}
	lo, hi, mid := Quantity(f.Lo, unit), Quantity(f.Hi, unit), Quantity(f.Slope, unit)
	if lo == mid && hi == mid {
		return ""
	}
	return fmt.Sprintf(" (%.0f%% CI %s to %s)", f.Confidence*100, lo, hi)
}

// plotFrame is the layout every chart shares: title and legend rows above,
// the plot area below, and the scales from data to pixels.
type plotFrame struct {
	rows           [][]placed
	pl, pr, pt, pb float64
	sx, sy         func(float64) float64
}

func newPlotFrame(legend []legendItem, xlo, xhi, ylo, yhi float64) plotFrame {
	f := plotFrame{rows: layoutLegend(legend, chartW-padL-padR)}
	f.pl, f.pr = float64(padL), float64(chartW-padR)
	f.pt, f.pb = float64(legendY+legendRow*(len(f.rows)-1))+plotGapTop, float64(chartH-padB)
	f.sx = func(x float64) float64 { return f.pl + (x-xlo)/(xhi-xlo)*(f.pr-f.pl) }
	f.sy = func(y float64) float64 { return f.pb - (y-ylo)/(yhi-ylo)*(f.pb-f.pt) }
	return f
}

// open writes the SVG header, title, grid, tick labels and axes, and opens
// the plot's clipped group; the caller draws into it and closes it.
func (f plotFrame) open(w *svgWriter, title, xTitle string, xticks, yticks []tick) {
	pl, pr, pt, pb, sx, sy := f.pl, f.pr, f.pt, f.pb, f.sx, f.sy
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="11" fill="%s">`+"\n",
		chartW, chartH, chartW, chartH, fontStack, colText)
	w.printf("<title>%s</title>\n", esc(title))
	w.printf(`<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	w.printf(`<defs><clipPath id="plot"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath></defs>`+"\n", pl, pt, pr-pl, pb-pt)
	w.printf(`<text x="%d" y="%d" font-size="14" font-weight="600">%s</text>`+"\n", padL, titleY, esc(shorten(title, 76)))

	// Grid and tick labels.
	w.printf(`<g stroke="%s" stroke-width="1">`+"\n", colGrid)
	for _, t := range yticks {
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", pl, sy(t.v), pr, sy(t.v))
	}
	for _, t := range xticks {
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", sx(t.v), pt, sx(t.v), pb)
	}
	w.printf("</g>\n")
	w.printf(`<g class="yticks" fill="%s" text-anchor="end">`+"\n", colAxis)
	for _, t := range yticks {
		w.printf(`<text x="%.1f" y="%.1f">%s</text>`+"\n", pl-6, sy(t.v)+4, esc(t.label))
	}
	w.printf("</g>\n")
	w.printf(`<g class="xticks" fill="%s" text-anchor="middle">`+"\n", colAxis)
	for _, t := range xticks {
		w.printf(`<text x="%.1f" y="%.1f">%s</text>`+"\n", sx(t.v), pb+15, esc(t.label))
	}
	w.printf("</g>\n")
	w.printf(`<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`+"\n", (pl+pr)/2, chartH-5, colMuted, esc(xTitle))
	w.printf(`<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="%s" stroke-width="1"/>`+"\n", pl, pt, pb, pr, colAxis)
	w.printf(`<g clip-path="url(#plot)" fill="none">` + "\n")
}
