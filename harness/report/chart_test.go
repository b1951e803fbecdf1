package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

// svgElem is one element of a decoded SVG with its attributes and text.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string
}

// decodeSVG parses an SVG with encoding/xml, failing the test on any
// malformed XML, and returns its elements in document order.
func decodeSVG(t *testing.T, b []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []svgElem
	var stack []int
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not valid XML: %v\n%s", err, b)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tk)
			}
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("root element is not <svg>")
	}
	return out
}

func byClass(els []svgElem, class string) []svgElem {
	var out []svgElem
	for _, e := range els {
		if e.attrs["class"] == class {
			out = append(out, e)
		}
	}
	return out
}

func texts(els []svgElem) string {
	var b strings.Builder
	for _, e := range els {
		if e.name == "text" || e.name == "title" {
			b.WriteString(e.text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func attrF(t *testing.T, e svgElem, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

func TestChartBreachDrawsDataFitBudgetAndPhases(t *testing.T) {
	s := resultstest.ByName(t, "sample-log-growth", "unlimited")
	title := "sample-log-growth/unlimited containerd_rss_bytes: breach"
	els := decodeSVG(t, Chart(s.Series[0], s.Result.Evaluations, title))
	txt := texts(els)

	for _, want := range []string{title, "stimulus", "settle", "slope budget 1 MiB/s", "fit 52 MiB/s", "ceiling 512 MiB", "time (s)", "0.5 GiB", "1.0 GiB"} {
		if !strings.Contains(txt, want) {
			t.Errorf("chart text lacks %q; has:\n%s", want, txt)
		}
	}
	if n := len(byClass(els, "data")); n != 1 {
		t.Fatalf("%d data paths, want 1", n)
	}
	if n := len(byClass(els, "phase")); n != 4 { // a line and a label per phase
		t.Errorf("%d phase elements, want 4", n)
	}
	fits, budgets := byClass(els, "fit"), byClass(els, "budget")
	if len(fits) != 1 || len(budgets) != 2 {
		t.Fatalf("%d fit lines and %d budget lines, want 1 and 2 (slope, ceiling)", len(fits), len(budgets))
	}
	fit, slope, ceiling := fits[0], budgets[0], budgets[1]
	if slope.attrs["stroke-dasharray"] == "" || ceiling.attrs["stroke-dasharray"] == "" {
		t.Errorf("budget lines must be dashed: %v %v", slope.attrs, ceiling.attrs)
	}
	// The slope budget starts where the fit starts (after the warm-up) and,
	// since the curve grows 52x faster than its budget, ends far below it
	// (SVG y grows downwards).
	if attrF(t, fit, "x1") != attrF(t, slope, "x1") || attrF(t, fit, "y1") != attrF(t, slope, "y1") {
		t.Errorf("slope budget does not start at the fit's start: fit %v, budget %v", fit.attrs, slope.attrs)
	}
	if fy, by := attrF(t, fit, "y2"), attrF(t, slope, "y2"); fy >= by-100 {
		t.Errorf("fit ends at y=%v, budget at y=%v: want the fit well above the budget", fy, by)
	}
	// The fit runs over the points curve.Evaluate fits: from stimulus +
	// warm-up (4 s) to the last sample before settle (21.9 s); x ticks at
	// 0..25 s put them at 4/25 and 21.9/25 of the plot width.
	x0, x1 := attrF(t, fit, "x1"), attrF(t, fit, "x2")
	plotW := float64(chartW - padL - padR)
	if math.Abs(x0-(padL+plotW*4/25)) > 0.2 || math.Abs(x1-(padL+plotW*21.9/25)) > 0.2 {
		t.Errorf("fit spans x=%v..%v, want %v..%v", x0, x1, padL+plotW*4/25, padL+plotW*21.9/25)
	}
	// The ceiling is horizontal.
	if attrF(t, ceiling, "y1") != attrF(t, ceiling, "y2") {
		t.Errorf("ceiling is not horizontal: %v", ceiling.attrs)
	}
}

func TestChartHoldBudgetRisesAboveFit(t *testing.T) {
	s := resultstest.ByName(t, "sample-log-growth", "default-limit")
	els := decodeSVG(t, Chart(s.Series[0], s.Result.Evaluations, "hold"))
	fits, budgets := byClass(els, "fit"), byClass(els, "budget")
	if len(fits) != 1 || len(budgets) != 1 {
		t.Fatalf("%d fit and %d budget lines, want 1 and 1 (the 512 MiB ceiling is off the chart)", len(fits), len(budgets))
	}
	if fy, by := attrF(t, fits[0], "y2"), attrF(t, budgets[0], "y2"); by >= fy {
		t.Errorf("budget ends at y=%v, fit at y=%v: a held budget must end above the fit", by, fy)
	}
	if txt := texts(els); !strings.Contains(txt, "ceiling 512 MiB (off the chart, above)") {
		t.Errorf("off-chart ceiling not named in the legend:\n%s", txt)
	}
}

func TestChartPerOpAndResidual(t *testing.T) {
	s := resultstest.ByName(t, "sample-loop-drain", "fixed")
	series, evals := s.Series[0], s.Result.Evaluations

	byTime := decodeSVG(t, Chart(series, evals, "t"))
	txt := texts(byTime)
	if !strings.Contains(txt, "see per-op chart") || !strings.Contains(txt, "residual budget +5 goroutines") {
		t.Errorf("time chart legend:\n%s", txt)
	}
	res := byClass(byTime, "budget")
	if len(res) != 1 || attrF(t, res[0], "y1") != attrF(t, res[0], "y2") {
		t.Fatalf("want one horizontal residual line on the time chart, got %v", res)
	}
	if len(byClass(byTime, "fit")) != 0 {
		t.Errorf("a per-op fit drawn against time")
	}

	byOp := decodeSVG(t, ChartPerOp(series, evals, "op"))
	txt = texts(byOp)
	for _, want := range []string{"stimulus ops", "slope budget 0.5 goroutines/op"} {
		if !strings.Contains(txt, want) {
			t.Errorf("per-op chart lacks %q:\n%s", want, txt)
		}
	}
	// The goroutines are flat past the warm-up: the legend names a fit near
	// 0 per op and its interval, which lies under the 0.5/op budget.
	m := regexp.MustCompile(`fit (\S+) goroutines/op \(\d+% CI (\S+) goroutines/op to (\S+) goroutines/op\)`).FindStringSubmatch(txt)
	if m == nil {
		t.Fatalf("per-op chart names no fit with its interval:\n%s", txt)
	}
	slope, lo, hi := parseF(t, m[1]), parseF(t, m[2]), parseF(t, m[3])
	if math.Abs(slope) > 0.01 || lo > slope || hi < slope || hi >= 0.5 {
		t.Errorf("per-op fit %g (%g..%g), want ~0 with an interval under the 0.5/op budget", slope, lo, hi)
	}
	if len(byClass(byOp, "fit")) != 1 || len(byClass(byOp, "budget")) != 1 {
		t.Errorf("per-op chart: want one fit and one slope budget line")
	}
}

func TestChartEscapesAndSurvivesOddInput(t *testing.T) {
	title := `<script>alert("x")</script> & "q"`
	s := curve.Series{Metric: "m", Unit: "fds", Points: []curve.Point{{T: 0, V: math.NaN()}, {T: 1, V: math.Inf(1)}, {T: 2, V: 3}}}
	out := Chart(s, nil, title)
	els := decodeSVG(t, out)
	if bytes.Contains(out, []byte("<script")) {
		t.Fatalf("title not escaped:\n%s", out)
	}
	if !strings.Contains(texts(els), title) {
		t.Errorf("escaped title does not decode back to %q", title)
	}

	empty := decodeSVG(t, Chart(curve.Series{Metric: "m"}, nil, "empty"))
	if !strings.Contains(texts(empty), "no samples") {
		t.Errorf("empty series chart does not say so")
	}
}

func TestChartDecimatesLongRunsButKeepsSpikes(t *testing.T) {
	s := curve.Series{Metric: "m", Unit: "bytes"}
	for i := 0; i < 100000; i++ {
		v := 1e6
		if i == 54321 {
			v = 9e6 // one spike must survive decimation
		}
		s.Points = append(s.Points, curve.Point{T: float64(i) / 100, V: v})
	}
	out := Chart(s, nil, "long")
	if len(out) > 200_000 {
		t.Errorf("chart of 100k points is %d bytes, want it decimated", len(out))
	}
	els := decodeSVG(t, out)
	d := byClass(els, "data")[0].attrs["d"]
	minY := math.Inf(1)
	for _, f := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' }) {
		var x, y float64
		if _, err := fmt.Sscan(f, &x, &y); err != nil {
			t.Fatalf("path segment %q: %v", f, err)
		}
		minY = math.Min(minY, y)
	}
	// The 1 MB line sits near the bottom of a 0..10 MiB axis; the 9 MB
	// spike must still reach the top fifth of the plot.
	top, bottom := plotTop(els), float64(chartH-padB)
	if minY > top+(bottom-top)/5 {
		t.Errorf("spike lost: highest data point at y=%v (plot %v..%v)", minY, top, bottom)
	}
}

// plotTop is the plot's top edge, read from the clip rectangle.
func plotTop(els []svgElem) float64 {
	for _, e := range els {
		if e.name == "rect" && e.attrs["y"] != "" {
			v, _ := strconv.ParseFloat(e.attrs["y"], 64)
			return v
		}
	}
	return 0
}
