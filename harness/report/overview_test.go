package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

func TestOverviewOverlaysEveryVariantWithItsHeadline(t *testing.T) {
	w := writeSample(t, t.TempDir())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ovs := Overviews(w.Dir(), w.Run())
	if len(ovs) != 2 {
		t.Fatalf("%d overviews, want one per incident (2): %+v", len(ovs), ovs)
	}
	log := ovs[0]
	if log.Incident != "sample-log-growth" || log.Axis != curve.PerSecond || log.Variants != 2 || len(log.Missing) != 0 {
		t.Fatalf("log-line overview: %+v", log)
	}
	if _, err := os.Stat(filepath.Join(w.Dir(), log.File)); err != nil {
		t.Errorf("Renderer.Run did not write the overview: %v", err)
	}
	if kill := ovs[1]; kill.Axis != curve.PerOp || !strings.HasSuffix(kill.File, "-per-op.svg") {
		t.Errorf("a per-op primary budget must give a chart against ops: %+v", kill)
	}

	els := decodeSVG(t, log.SVG)
	var legend []string
	strokes := map[string]string{}
	budgets := 0
	for _, e := range els {
		switch {
		case e.name == "text" && e.attrs["class"] == "legend":
			legend = append(legend, e.text)
		case e.name == "path" && strings.HasPrefix(e.attrs["class"], "data series-"):
			strokes[strings.TrimPrefix(e.attrs["class"], "data series-")] = e.attrs["stroke"]
		case e.attrs["class"] == "budget":
			budgets++
		case strings.HasPrefix(e.attrs["class"], "fit"):
			t.Errorf("an overview draws no fits, found %v", e.attrs)
		}
	}
	for _, want := range []string{"unlimited: breach, slope 52 MiB/s", "default-limit: hold, slope ", "slope budget 1 MiB/s"} {
		if !slices.ContainsFunc(legend, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("legend %q lacks %q", legend, want)
		}
	}
	if slices.ContainsFunc(legend, func(l string) bool { return strings.Contains(l, "(default-limit)") }) {
		t.Errorf("a budget every variant shares is attributed to one: %q", legend)
	}
	if budgets != 1 {
		t.Errorf("%d budget lines, want the primary budget once", budgets)
	}
	if !slices.Contains(breachPalette[:], strokes["unlimited"]) || !slices.Contains(holdPalette[:], strokes["default-limit"]) {
		t.Errorf("strokes %v: a variant that must breach needs a warm colour, one that must hold a cool one", strokes)
	}
}

func TestOverviewLabelsMatrixCellsAndFailures(t *testing.T) {
	dir := t.TempDir()
	v := resultstest.ByName(t, "sample-log-growth", "unlimited")
	var run results.Run
	for _, c := range []struct {
		cell, verdict string
		ok            bool
	}{{"containerd-1.6.20", "breach", true}, {"containerd-1.7.18", "hold", false}} {
		r := v.Result
		r.Cell, r.Verdict, r.OK = c.cell, c.verdict, c.ok
		r.Series = r.Name() + "/" + r.Metric + ".csv"
		if err := os.MkdirAll(filepath.Join(dir, r.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := results.WriteJSON(filepath.Join(dir, r.Name(), r.Metric+".json"), v.Series[0]); err != nil {
			t.Fatal(err)
		}
		run.Results = append(run.Results, r)
	}
	gone := v.Result
	gone.Cell, gone.Series = "containerd-2.0.14", "sample-log-growth/unlimited@containerd-2.0.14/containerd_rss_bytes.csv"
	run.Results = append(run.Results, gone)

	ovs := Overviews(dir, run)
	if len(ovs) != 1 {
		t.Fatalf("%d overviews, want 1", len(ovs))
	}
	o := ovs[0]
	if o.Variants != 2 || len(o.Missing) != 1 || !strings.HasPrefix(o.Missing[0], "unlimited@containerd-2.0.14: ") {
		t.Errorf("a cell without its series must be listed as missing, not drawn: %+v", o)
	}
	svg := string(o.SVG)
	for _, want := range []string{"unlimited@containerd-1.6.20: breach, slope", "unlimited@containerd-1.7.18: hold, slope 52 MiB/s ✗ expected breach"} {
		if !strings.Contains(svg, want) {
			t.Errorf("overview lacks legend %q", want)
		}
	}
}
