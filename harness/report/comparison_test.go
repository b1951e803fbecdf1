package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

func TestWriteComparisonOverlaysBothRuns(t *testing.T) {
	base, baseDir := resultstest.WriteRun(t, "20261122T010000Z", resultstest.Measure("sample-log-growth", "default", "1.7.17", curve.Hold, resultstest.RSS(8, 2, 0)))
	cand, candDir := resultstest.WriteRun(t, "20261123T010000Z", resultstest.Measure("sample-log-growth", "default", "1.7.18", curve.Hold, resultstest.RSS(9, 4, 52*resultstest.MiB)))
	out := filepath.Join(t.TempDir(), "ab")
	c, err := WriteComparison(out, judge.Compare(base, cand), baseDir, candDir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Regressions != 1 || len(c.Warnings) != 0 {
		t.Fatalf("regressions %d warnings %q, want 1 and none", c.Regressions, c.Warnings)
	}

	// ab.json is the Comparison.
	b, err := os.ReadFile(filepath.Join(out, CompareJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back judge.Comparison
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Regressions != 1 || len(back.Pairs) != 1 || !back.Pairs[0].Regressed || back.Pairs[0].Evals[0].Candidate.Lo == 0 {
		t.Errorf("ab.json round trip lost the verdict: %s", b)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"base", "candidate", "pairs", "only_base", "only_candidate", "regressions"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("ab.json lacks key %q", k)
		}
	}

	// One time chart with both runs' series, fits and the budget.
	charts, err := filepath.Glob(filepath.Join(out, compareChartDir, "*.svg"))
	if err != nil || len(charts) != 1 {
		t.Fatalf("charts %v (%v), want one", charts, err)
	}
	svg, err := os.ReadFile(charts[0])
	if err != nil {
		t.Fatal(err)
	}
	els := decodeSVG(t, svg)
	bs, cs := byClass(els, "data series-base"), byClass(els, "data series-candidate")
	if len(bs) != 1 || len(cs) != 1 {
		t.Fatalf("want one base and one candidate series path, got %d and %d", len(bs), len(cs))
	}
	if bs[0].attrs["stroke"] == cs[0].attrs["stroke"] {
		t.Errorf("both series drawn in %s", bs[0].attrs["stroke"])
	}
	if len(byClass(els, "fit-base")) != 1 || len(byClass(els, "fit-candidate")) != 1 || len(byClass(els, "budget")) < 1 {
		t.Errorf("want a fit per run and the budget drawn")
	}
	legend := texts(byClass(els, "legend"))
	for _, want := range []string{"base 20261122T010000Z · containerd 1.7.17", "candidate 20261123T010000Z · containerd 1.7.18", "slope budget 1 MiB/s"} {
		if !strings.Contains(legend, want) {
			t.Errorf("legend lacks %q:\n%s", want, legend)
		}
	}
	// The runs started their stimulus 2 s apart: the x axis counts from each
	// run's own stimulus, so both series start left of 0 by their baseline
	// and the candidate's fit starts where the base's does (same warm-up).
	fb, fc := byClass(els, "fit-base")[0], byClass(els, "fit-candidate")[0]
	if d := math.Abs(attrF(t, fb, "x1") - attrF(t, fc, "x1")); d > 2 {
		t.Errorf("fits start %.1f px apart: runs are not aligned at the stimulus", d)
	}

	page, err := os.ReadFile(filepath.Join(out, CompareHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`src="./charts/1-sample-log-growth-default-containerd_rss_bytes.svg"`, "held on 1.7.17, breaches on 1.7.18", "1 regressed, 1 compared", `class="counts bad"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("ab.html lacks %q", want)
		}
	}
	text, err := os.ReadFile(filepath.Join(out, CompareTextFile))
	if err != nil || string(text) != ComparisonTable(c) {
		t.Errorf("ab.txt is not the comparison table (%v)", err)
	}
}

func TestWriteComparisonEscapesAndWarns(t *testing.T) {
	evil := `<script>alert("x")<b>`
	base, baseDir := resultstest.WriteRun(t, "base", resultstest.Measure(evil, `v" onmouseover="y`, "1.7.17", curve.Hold, resultstest.RSS(10, 2, 0)))
	cand, candDir := resultstest.WriteRun(t, "cand", resultstest.Measure(evil, `v" onmouseover="y`, "1.7.18", curve.Hold, resultstest.RSS(11, 2, 0)))
	// A downloaded candidate without its series files still compares.
	if err := os.RemoveAll(filepath.Join(candDir, evil)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	c, err := WriteComparison(out, judge.Compare(base, cand), baseDir, candDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pairs) != 1 || c.Regressions != 0 {
		t.Fatalf("pairs %d regressions %d, want 1 and 0", len(c.Pairs), c.Regressions)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "series containerd_rss_bytes not charted") {
		t.Errorf("warnings %q, want one about the missing series", c.Warnings)
	}
	page, err := os.ReadFile(filepath.Join(out, CompareHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>alert", `onmouseover="y`} {
		if strings.Contains(string(page), bad) {
			t.Errorf("ab.html contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert", "not charted", "No series of both runs to overlay"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("ab.html lacks %q", want)
		}
	}

	// With the series present, an odd name makes a safe file name and an
	// escaped chart.
	cand2, candDir2 := resultstest.WriteRun(t, "cand2", resultstest.Measure(evil, `v" onmouseover="y`, "1.7.18", curve.Hold, resultstest.RSS(12, 2, 0)))
	out2 := t.TempDir()
	if _, err := WriteComparison(out2, judge.Compare(base, cand2), baseDir, candDir2); err != nil {
		t.Fatal(err)
	}
	charts, _ := filepath.Glob(filepath.Join(out2, compareChartDir, "*"))
	if len(charts) != 1 || strings.ContainsAny(filepath.Base(charts[0]), `<>"' `) {
		t.Fatalf("charts %q: want one with a safe name", charts)
	}
	svg, err := os.ReadFile(charts[0])
	if err != nil {
		t.Fatal(err)
	}
	if title := texts(decodeSVG(t, svg)); !strings.Contains(title, evil) {
		t.Errorf("chart title lost the (escaped) name: %q", title)
	}
}

func TestWriteComparisonPerOpChart(t *testing.T) {
	// A per-op budget gets a second, op-axis overlay.
	perOp := []curve.Budget{{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5, Warmup: 5}}
	mk := func(id, version string, perKill float64) (results.Run, string) {
		s := curve.Series{Metric: "dockerd_goroutines", Unit: "goroutines", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}, {Name: curve.PhaseSettle, T: 31}}}
		for i := 0; i <= 330; i++ {
			t := float64(i) * 0.1
			op := math.Max(0, math.Min(math.Floor(t-1), 30))
			s.Points = append(s.Points, curve.Point{T: t, Op: op, V: 60 + perKill*op})
		}
		w, err := results.Open(t.TempDir(), id, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := results.Result{Incident: "sample-loop-drain", Variant: "fixed", Runtime: "dockerd", Version: version, Expect: "hold"}
		judge.Fill(&r, judge.Judge(perOp, []curve.Series{s}), []curve.Series{s})
		if err := w.Add(r, []curve.Series{s}); err != nil {
			t.Fatal(err)
		}
		run, err := results.Load(w.Dir())
		if err != nil {
			t.Fatal(err)
		}
		return run, w.Dir()
	}
	base, bd := mk("base", "20.10.24", 0)
	cand, cd := mk("cand", "20.10.5", 2)
	out := t.TempDir()
	c, err := WriteComparison(out, judge.Compare(base, cand), bd, cd)
	if err != nil {
		t.Fatal(err)
	}
	if p := resultstest.OnlyPair(t, c); !p.Regressed || p.Change != "held on 20.10.24, breaches on 20.10.5" {
		t.Errorf("pair %+v: want held on 20.10.24, breaches on 20.10.5", p)
	}
	charts, _ := filepath.Glob(filepath.Join(out, compareChartDir, "*-per-op.svg"))
	if len(charts) != 1 {
		t.Fatalf("per-op charts %v, want one", charts)
	}
	svg, _ := os.ReadFile(charts[0])
	els := decodeSVG(t, svg)
	if !strings.Contains(texts(els), "stimulus ops") || len(byClass(els, "fit-candidate")) != 1 {
		t.Errorf("per-op chart lacks the op axis or the candidate's fit")
	}
}

// TestWriteComparisonSample writes a sample A/B to $RELAPSE_AB_SAMPLE so a
// person can look at ab.html and the overlaid charts; it is skipped otherwise.
func TestWriteComparisonSample(t *testing.T) {
	dir := os.Getenv("RELAPSE_AB_SAMPLE")
	if dir == "" {
		t.Skip("set RELAPSE_AB_SAMPLE=<dir> to write a sample comparison there")
	}
	base, bd := resultstest.WriteRun(t, "20261122T010000Z",
		resultstest.Measure("sample-log-growth", "default", "1.7.17", curve.Hold, resultstest.RSS(20, 2, 0.1*resultstest.MiB)),
		resultstest.Measure("sample-log-growth", "unlimited", "1.7.17", curve.Breach, resultstest.RSS(21, 2, 52*resultstest.MiB)))
	cand, cd := resultstest.WriteRun(t, "20261123T010000Z",
		resultstest.Measure("sample-log-growth", "default", "1.7.18", curve.Hold, resultstest.RSS(22, 3, 3*resultstest.MiB)),
		resultstest.Measure("sample-log-growth", "unlimited", "1.7.18", curve.Breach, resultstest.RSS(23, 3, 50*resultstest.MiB)))
	c, err := WriteComparison(dir, judge.Compare(base, cand), bd, cd)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s\n%s", dir, ComparisonTable(c))
}
