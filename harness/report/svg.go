package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
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

// Colours and type of the frame every chart shares.
const (
	colGrid   = "#e5e7eb"
	colAxis   = "#374151"
	colText   = "#111827"
	colMuted  = "#6b7280"
	fontStack = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
)

// legendItem is a swatch (or none) and its text.
type legendItem struct {
	color  string
	dashed bool
	text   string
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

// plotFrame is the layout every chart shares: title and legend rows above,
// the plot area below, and the scales from data to pixels.
type plotFrame struct {
	rows           [][]placed
	h              int // the chart's height
	pl, pr, pt, pb float64
	sx, sy         func(float64) float64
}

// newPlotFrame lays out a chart of chartH, or with grow one taller by the
// legend's rows past the first, so the plot keeps a single chart's height.
func newPlotFrame(legend []legendItem, xlo, xhi, ylo, yhi float64, grow bool) plotFrame {
	f := plotFrame{rows: layoutLegend(legend, chartW-padL-padR), h: chartH}
	if grow {
		f.h += legendRow * (len(f.rows) - 1)
	}
	f.pl, f.pr = float64(padL), float64(chartW-padR)
	f.pt, f.pb = float64(legendY+legendRow*(len(f.rows)-1))+plotGapTop, float64(f.h-padB)
	f.sx = func(x float64) float64 { return f.pl + (x-xlo)/(xhi-xlo)*(f.pr-f.pl) }
	f.sy = func(y float64) float64 { return f.pb - (y-ylo)/(yhi-ylo)*(f.pb-f.pt) }
	return f
}

// open writes the SVG header, title, grid, tick labels and axes, and opens
// the plot's clipped group; the caller draws into it and closes it.
func (f plotFrame) open(w *svgWriter, title, xTitle string, xticks, yticks []tick) {
	pl, pr, pt, pb, sx, sy := f.pl, f.pr, f.pt, f.pb, f.sx, f.sy
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="11" fill="%s">`+"\n",
		chartW, f.h, chartW, f.h, fontStack, colText)
	w.printf("<title>%s</title>\n", esc(title))
	w.printf(`<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, f.h)
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
	w.printf(`<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`+"\n", (pl+pr)/2, f.h-5, colMuted, esc(xTitle))
	w.printf(`<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="%s" stroke-width="1"/>`+"\n", pl, pt, pb, pr, colAxis)
	w.printf(`<g clip-path="url(#plot)" fill="none">` + "\n")
}

// phases marks the phases of s, labels staggered when close.
func (f plotFrame) phases(w *svgWriter, s curve.Series, axis curve.Axis, xlo, xhi float64) {
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
		px := f.sx(x)
		labelW := float64(len(ph.Name)) * charW
		if px-lastLabelX < labelW+8 {
			row = (row + 1) % 3
		} else {
			row = 0
		}
		lastLabelX = px
		lx, anchor := px+3, "start"
		if lx+labelW > f.pr {
			lx, anchor = px-3, "end"
		}
		w.printf(`<line class="phase" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="2 3"/>`+"\n", px, f.pt, px, f.pb, colPhase)
		w.printf(`<text class="phase" x="%.1f" y="%.1f" text-anchor="%s" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
			lx, f.pt+11+float64(row)*12, anchor, colPhase, esc(ph.Name))
	}
}

// close ends the plot's group, says "no samples" on an empty chart, draws
// the legend and ends the SVG.
func (f plotFrame) close(w *svgWriter, empty bool) {
	w.printf("</g>\n")
	if empty {
		w.printf(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" font-size="13">no samples</text>`+"\n", (f.pl+f.pr)/2, (f.pt+f.pb)/2, colMuted)
	}
	for i, r := range f.rows {
		y := float64(legendY + i*legendRow)
		for _, it := range r {
			x := f.pl + it.x
			fill := colMuted
			if it.color != "" {
				dash := ""
				if it.dashed {
					dash = ` stroke-dasharray="5 3"`
				}
				w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", x, y-4, x+16, y-4, it.color, dash)
				x += 20
				fill = colText
			}
			w.printf(`<text class="legend" x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x, y, fill, esc(it.text))
		}
	}
	w.printf("</svg>\n")
}

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
	return "fit " + results.Quantity(f.Slope, unit) + results.FitInterval(f, unit)
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
