package calibrate

import (
	"fmt"
	"html"
	"strings"
)

// palette colours one line per source, in order.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"}

// line is one plotted series of (x, y) points.
type line struct {
	name string
	xs   []float64
	ys   []float64
}

// panel draws lines in a w x h box at (ox, oy) with axes from 0 to xmax
// and ymax, a title, and tick labels from the formatters.
func panel(b *strings.Builder, ox, oy, w, h, xmax, ymax float64, title, xlabel string, lines []line, xtick, ytick []float64, yfmt func(float64) string) {
	const l, bt, t = 48.0, 34.0, 22.0
	pw, ph := w-l-10, h-bt-t
	px := func(x float64) float64 { return ox + l + pw*x/xmax }
	py := func(y float64) float64 { return oy + t + ph*(1-y/ymax) }
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="bold">%s</text>`+"\n", ox+l, oy+14, html.EscapeString(title))
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", ox+l, oy+t, pw, ph)
	for _, x := range xtick {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%g</text>`+"\n", px(x), oy+t+ph+14, x)
	}
	for _, y := range ytick {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, ox+l, ox+l+pw, py(y), py(y))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>`+"\n", ox+l-4, py(y)+4, yfmt(y))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`+"\n", ox+l+pw/2, oy+h-4, html.EscapeString(xlabel))
	for i, ln := range lines {
		c := palette[i%len(palette)]
		var pts []string
		for k := range ln.xs {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(ln.xs[k]), py(min(ln.ys[k], ymax))))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", c, strings.Join(pts, " "))
	}
}

// legendItem is the width one legend entry takes.
const legendItem = 110.0

// legend lists the lines' names in their colours below the panels, as
// many a row as fit in width, and returns the rows it took.
func legend(b *strings.Builder, x, y, width float64, names []string) int {
	per := max(1, int((width-x)/legendItem))
	for i, n := range names {
		lx, ly := x+float64(i%per)*legendItem, y+float64(i/per)*16
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="12" height="3" fill="%s"/><text x="%.1f" y="%.1f" font-size="11">%s</text>`+"\n",
			lx, ly-4, palette[i%len(palette)], lx+16, ly, html.EscapeString(n))
	}
	return (len(names) + per - 1) / per
}

func svg(w, h float64, body string) string {
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", w, h, w, h, body)
}

// PowerSVG plots the breach rate against the true slope (in budgets), one
// panel per rule set, one line per source: the power curve, whose value at
// 1x and below is the false-breach rate.
func (r Report) PowerSVG() string {
	multiples, sources, rules := axes(r.Cells)
	xmax := multiples[len(multiples)-1]
	var b strings.Builder
	const pw, ph = 360.0, 260.0
	for i, ru := range rules {
		var lines []line
		for _, src := range sources {
			ln := line{name: src}
			for _, m := range multiples {
				if c, ok := find(r.Cells, ru, src, m); ok && c.N > 0 {
					ln.xs, ln.ys = append(ln.xs, m), append(ln.ys, c.BreachRate().P)
				}
			}
			lines = append(lines, ln)
		}
		panel(&b, float64(i)*pw, 0, pw, ph, xmax, 1, fmt.Sprintf("rules %s: breach rate", ru), "true slope (x budget)", lines,
			multiples, []float64{0, 0.25, 0.5, 0.75, 1}, func(y float64) string { return fmt.Sprintf("%.0f%%", 100*y) })
	}
	w := pw * float64(len(rules))
	rows := legend(&b, 48, ph+18, w, sources)
	return svg(w, ph+12+float64(rows)*16, b.String())
}

// TimeSVG plots, per rule set, the share of replays decided by each time
// after the stimulus, one line per source: breaches at 2x the budget in
// the top row, holds at 0x in the bottom one.
func (r Report) TimeSVG() string {
	_, sources, rules := axes(r.Cells)
	tmax := 1.0
	for _, c := range r.Cells {
		for _, t := range append(append([]float64(nil), c.BreachAfter...), c.HoldAfter...) {
			tmax = max(tmax, t)
		}
	}
	var b strings.Builder
	const pw, ph = 360.0, 240.0
	for row, k := range []struct {
		m     float64
		hold  bool
		title string
	}{{2, false, "breach at 2x"}, {0, true, "hold at 0x"}} {
		for i, ru := range rules {
			var lines []line
			for _, src := range sources {
				c, ok := find(r.Cells, ru, src, k.m)
				if !ok || c.N == 0 {
					lines = append(lines, line{name: src})
					continue
				}
				ts := c.BreachAfter
				if k.hold {
					ts = c.HoldAfter
				}
				lines = append(lines, ecdf(src, ts, c.N, tmax))
			}
			panel(&b, float64(i)*pw, float64(row)*ph, pw, ph, tmax, 1, fmt.Sprintf("rules %s: %s, share decided by", ru, k.title), "seconds after the stimulus", lines,
				ticks(tmax), []float64{0, 0.25, 0.5, 0.75, 1}, func(y float64) string { return fmt.Sprintf("%.0f%%", 100*y) })
		}
	}
	w := pw * float64(len(rules))
	rows := legend(&b, 48, 2*ph+18, w, sources)
	return svg(w, 2*ph+12+float64(rows)*16, b.String())
}

// ecdfSteps is how many times an ECDF line is drawn at: enough for a
// smooth line, few enough that a thousand replays make a small file.
const ecdfSteps = 240

// ecdf is the share of n replays decided by each of ecdfSteps times up to
// tmax.
func ecdf(name string, sorted []float64, n int, tmax float64) line {
	ln := line{name: name}
	k := 0
	for i := 0; i <= ecdfSteps; i++ {
		t := tmax * float64(i) / ecdfSteps
		for k < len(sorted) && sorted[k] <= t {
			k++
		}
		ln.xs, ln.ys = append(ln.xs, t), append(ln.ys, float64(k)/float64(n))
	}
	return ln
}

func ticks(tmax float64) []float64 {
	step := 5.0
	for tmax/step > 8 {
		step *= 2
	}
	var out []float64
	for t := 0.0; t <= tmax; t += step {
		out = append(out, t)
	}
	return out
}

// Sources describes every synthetic noise and the real source.
func Sources() map[string]string {
	out := map[string]string{
		"real":         "real hold series from saved runs (their own noise and budgets), as measured and negated",
		"real-shifted": "the real hold series drawn at random, negated or not, their residuals in the fitted window (after the warm-up, before the settle) rotated by a random offset",
	}
	for _, n := range Noises() {
		out[n.Name] = n.Why
	}
	return out
}
