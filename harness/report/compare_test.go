package report

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

const mib = 1 << 20

// rssBudgets are the huge-log-line scenario's budgets: 1 MiB/s slope and
// 16 MiB growth.
var rssBudgets = []curve.Budget{
	{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 1 * mib, Warmup: 1},
	{Metric: "containerd_rss_bytes", Kind: curve.Growth, Max: 16 * mib},
}

// rss is a containerd RSS curve: flat at 47 MiB with 0.2 MiB of noise for
// baseline seconds, then growing by rate bytes per second for 12 s.
func rss(seed uint64, baseline, rate float64) curve.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
		Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: baseline}, {Name: curve.PhaseSettle, T: baseline + 12}}}
	for i := 0; float64(i)*0.1 <= baseline+14; i++ {
		t := float64(i) * 0.1
		v := 47*mib + rng.Float64()*0.2*mib
		if t >= baseline {
			v += math.Min(t-baseline, 12) * rate
		}
		s.Points = append(s.Points, curve.Point{T: t, Op: math.Max(0, math.Floor(t-baseline)), V: v})
	}
	return s
}

// variant is one result to write: its identity and its one series.
type variant struct {
	incident, variant, version string
	expect                     curve.Verdict
	series                     curve.Series
}

// writeRun writes the variants with a real Writer into a fresh results
// directory and loads the run back, as `relapse ab` does.
func writeRun(t *testing.T, id string, vs ...variant) (Run, string) {
	t.Helper()
	w, err := NewWriter(t.TempDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		r := Result{Incident: v.incident, Variant: v.variant, Runtime: string(runtime.Containerd), Version: v.version,
			Expect: string(v.expect), Evaluations: curve.EvaluateAll(rssBudgets, []curve.Series{v.series}, true)}
		if err := w.Add(r, []curve.Series{v.series}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := Load(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return run, w.Dir()
}

func onlyPair(t *testing.T, c Comparison) Pair {
	t.Helper()
	if len(c.Pairs) != 1 {
		t.Fatalf("got %d pairs, want 1: %+v", len(c.Pairs), c.Pairs)
	}
	return c.Pairs[0]
}

func evalOf(t *testing.T, p Pair, kind curve.Kind) EvalDelta {
	t.Helper()
	for _, e := range p.Evals {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("pair %s/%s has no %s evaluation: %+v", p.Incident, p.Variant, kind, p.Evals)
	return EvalDelta{}
}

func TestCompareHoldThatBreachesRegresses(t *testing.T) {
	base, _ := writeRun(t, "base", variant{"containerd-huge-log-line", "default", "1.7.17", curve.Hold, rss(1, 2, 0)})
	cand, _ := writeRun(t, "cand", variant{"containerd-huge-log-line", "default", "1.7.18", curve.Hold, rss(2, 3, 52*mib)})

	c := Compare(base, cand)
	p := onlyPair(t, c)
	if !p.Regressed || c.Regressions != 1 {
		t.Fatalf("regressed=%v regressions=%d, want a regression: %+v", p.Regressed, c.Regressions, p)
	}
	if want := "held on 1.7.17, breaches on 1.7.18"; p.Change != want {
		t.Errorf("change %q, want %q", p.Change, want)
	}
	slope := evalOf(t, p, curve.Slope)
	if !slope.Regressed || slope.Base.Verdict != curve.Hold || slope.Candidate.Verdict != curve.Breach {
		t.Errorf("slope delta %+v: want hold -> breach, regressed", slope)
	}
	if !slope.Base.HasFit || !slope.Candidate.HasFit || slope.Candidate.Lo <= slope.Base.Hi {
		t.Errorf("slope bounds not carried: base %+v candidate %+v", *slope.Base, *slope.Candidate)
	}
	if slope.Unit != "bytes/s" || slope.Budget != 1*mib {
		t.Errorf("slope unit %q budget %g, want bytes/s and 1 MiB", slope.Unit, slope.Budget)
	}
	if math.Abs(slope.Candidate.Measured-52*mib) > 2*mib {
		t.Errorf("candidate slope %g, want ~52 MiB/s", slope.Candidate.Measured)
	}
	joined := strings.Join(p.Reasons, "\n")
	for _, want := range []string{"ok on 1.7.17", "failed on 1.7.18", "containerd_rss_bytes slope: held on 1.7.17, breaches on 1.7.18"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons %q lack %q", joined, want)
		}
	}
	table := ComparisonTable(c)
	if !strings.HasSuffix(table, "\n1 regressed, 1 compared\n") {
		t.Errorf("table does not end with the counts line:\n%s", table)
	}
	for _, want := range []string{"containerd 1.7.17 -> containerd 1.7.18", "REGRESSED", "held on 1.7.17, breaches on 1.7.18"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	// The reverse direction is a fix, not a regression.
	back := Compare(cand, base)
	if p := onlyPair(t, back); p.Regressed || back.Regressions != 0 || p.Change != "breached on 1.7.18, holds on 1.7.17" {
		t.Errorf("reverse comparison: regressed=%v change %q", p.Regressed, p.Change)
	}
}

func TestCompareSlopeThatGrewRegressesOnlyWhenItMatters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		base, cand  float64 // growth rates in bytes/s, all under the 1 MiB/s budget
		wantGrew    bool
		wantChanged string
	}{
		{"grew past half the budget", 0, 0.8 * mib, true, "holds on both (1.7.17, 1.7.18), slope grew"},
		{"grew but far below half the budget", 0, 0.2 * mib, false, "holds on both (1.7.17, 1.7.18)"},
		{"same slope", 0.7 * mib, 0.7 * mib, false, "holds on both (1.7.17, 1.7.18)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := writeRun(t, "base", variant{"i", "fixed", "1.7.17", curve.Hold, rss(3, 2, tc.base)})
			cand, _ := writeRun(t, "cand", variant{"i", "fixed", "1.7.18", curve.Hold, rss(4, 2, tc.cand)})
			c := Compare(base, cand)
			p := onlyPair(t, c)
			slope := evalOf(t, p, curve.Slope)
			if slope.Base.Verdict != curve.Hold || slope.Candidate.Verdict != curve.Hold {
				t.Fatalf("test data must hold on both: %+v %+v", *slope.Base, *slope.Candidate)
			}
			if slope.Grew != tc.wantGrew || slope.Regressed != tc.wantGrew || p.Regressed != tc.wantGrew {
				t.Errorf("grew=%v regressed=%v pair regressed=%v, want %v (base %+v, candidate %+v)",
					slope.Grew, slope.Regressed, p.Regressed, tc.wantGrew, *slope.Base, *slope.Candidate)
			}
			if slope.Change != tc.wantChanged {
				t.Errorf("change %q, want %q", slope.Change, tc.wantChanged)
			}
			if tc.wantGrew && !strings.Contains(strings.Join(p.Reasons, ""), "grew") {
				t.Errorf("reasons %q do not say the slope grew", p.Reasons)
			}
		})
	}
}

func TestCompareVulnerableVariant(t *testing.T) {
	// A variant that must breach: a faster breach is no regression (its
	// slope is past every budget on both), but no longer reproducing is.
	base, _ := writeRun(t, "base", variant{"i", "unlimited", "1.7.17", curve.Breach, rss(5, 2, 30*mib)})
	faster, _ := writeRun(t, "faster", variant{"i", "unlimited", "1.7.18", curve.Breach, rss(6, 2, 60*mib)})
	c := Compare(base, faster)
	if p := onlyPair(t, c); p.Regressed || c.Regressions != 0 {
		t.Errorf("faster breach of a vulnerable variant counted as a regression: %+v", p)
	}
	if s := evalOf(t, onlyPair(t, c), curve.Slope); !s.Grew {
		t.Errorf("the slope did grow and the delta should say so: %+v", s)
	}

	flat, _ := writeRun(t, "flat", variant{"i", "unlimited", "1.7.18", curve.Breach, rss(7, 2, 0)})
	c = Compare(base, flat)
	p := onlyPair(t, c)
	if !p.Regressed || c.Regressions != 1 {
		t.Fatalf("a vulnerable variant that stopped reproducing must regress: %+v", p)
	}
	if p.Change != "breached on 1.7.17, holds on 1.7.18" {
		t.Errorf("change %q", p.Change)
	}
}

// In a matrix, a hold variant is expected to breach on versions before its
// fix. Going from the fixed version back to one before the fix is still a
// regression (both sides are "ok" against their own expectation); going
// forward to the fix is not.
func TestCompareBackToAVersionBeforeTheFixRegresses(t *testing.T) {
	fixed, _ := writeRun(t, "fixed", variant{"i", "dstate", "20.10.24", curve.Hold, rss(8, 2, 0)})
	before, _ := writeRun(t, "before", variant{"i", "dstate", "20.10.5", curve.Breach, rss(9, 2, 30*mib)})
	c := Compare(fixed, before)
	if p := onlyPair(t, c); !p.Regressed || c.Regressions != 1 || p.Change != "held on 20.10.24, breaches on 20.10.5" {
		t.Errorf("fixed -> before the fix: regressed %v (%d), change %q; want a regression", p.Regressed, c.Regressions, p.Change)
	}
	c = Compare(before, fixed)
	if p := onlyPair(t, c); p.Regressed || c.Regressions != 0 || p.Change != "breached on 20.10.5, holds on 20.10.24" {
		t.Errorf("before the fix -> fixed: regressed %v (%d), change %q; want the fix shown, no regression", p.Regressed, c.Regressions, p.Change)
	}
}

func TestComparePairsMatrixRunsByIncidentAndVariant(t *testing.T) {
	res := func(variant, version, verdict string) Result {
		return Result{Incident: "i", Variant: variant, Runtime: "containerd", Version: version, Expect: "hold", Verdict: verdict, OK: verdict == "hold"}
	}
	// Results in non-version order on purpose.
	base := Run{ID: "b", Results: []Result{res("v", "2.0.14", "hold"), res("v", "1.7.9", "hold"), res("v", "1.6.20", "hold"), res("gone", "1.6.20", "hold"), res("gone-bad", "1.6.20", "breach")}}
	cand := Run{ID: "c", Results: []Result{res("v", "1.7.18", "breach"), res("v", "2.0.14", "hold"), res("new", "2.0.14", "hold")}}
	c := Compare(base, cand)

	var got []string
	for _, p := range c.Pairs {
		got = append(got, p.Variant+":"+p.Base.Version+"->"+p.Candidate.Version)
	}
	// 2.0.14 pairs with itself; the rest pair in version order (1.6.20 is
	// older than 1.7.9, which is older than 1.7.18), leaving 1.7.9 over.
	want := []string{"v:1.6.20->1.7.18", "v:2.0.14->2.0.14"}
	if !slices.Equal(got, want) {
		t.Errorf("pairs %v, want %v", got, want)
	}
	if p := c.Pairs[0]; p.Change != "held on 1.6.20, breaches on 1.7.18" || !p.Regressed {
		t.Errorf("matrix pair: change %q regressed %v", p.Change, p.Regressed)
	}
	if p := c.Pairs[1]; p.Change != "holds on both" || p.Regressed {
		t.Errorf("same-version pair: change %q regressed %v", p.Change, p.Regressed)
	}
	var only []string
	for _, s := range c.OnlyBase {
		only = append(only, s.Variant+"@"+s.Version)
	}
	if want := []string{"v@1.7.9", "gone@1.6.20", "gone-bad@1.6.20"}; !slices.Equal(only, want) {
		t.Errorf("only in base %v, want %v", only, want)
	}
	if len(c.OnlyCandidate) != 1 || c.OnlyCandidate[0].Variant != "new" {
		t.Errorf("only in candidate %+v, want new", c.OnlyCandidate)
	}
	// 1.6.20 -> 1.7.18 regressed; v@1.7.9 and gone were ok in base and are
	// missing; gone-bad was failing anyway.
	if c.Regressions != 3 {
		t.Errorf("regressions %d, want 3", c.Regressions)
	}
	table := ComparisonTable(c)
	for _, want := range []string{"regressed: missing from the candidate (ok in base): i/gone", "only in base: i/gone-bad", "only in candidate: i/new", "3 regressed, 2 compared"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestCompareVersionsOrder(t *testing.T) {
	in := []string{"2.0.14", "1.7.18", "", "1.7.9", "20.10.5", "1.6.20~ds1", "2.0.0"}
	slices.SortFunc(in, compareVersions)
	want := []string{"", "1.6.20~ds1", "1.7.9", "1.7.18", "2.0.0", "2.0.14", "20.10.5"}
	if !slices.Equal(in, want) {
		t.Errorf("sorted %v, want %v", in, want)
	}
}

func TestWriteComparisonOverlaysBothRuns(t *testing.T) {
	base, baseDir := writeRun(t, "20261122T010000Z", variant{"containerd-huge-log-line", "default", "1.7.17", curve.Hold, rss(8, 2, 0)})
	cand, candDir := writeRun(t, "20261123T010000Z", variant{"containerd-huge-log-line", "default", "1.7.18", curve.Hold, rss(9, 4, 52*mib)})
	out := filepath.Join(t.TempDir(), "ab")
	c, err := WriteComparison(out, base, cand, baseDir, candDir)
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
	var back Comparison
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
	for _, want := range []string{`src="./charts/1-containerd-huge-log-line-default-containerd_rss_bytes.svg"`, "held on 1.7.17, breaches on 1.7.18", "1 regressed, 1 compared", `class="counts bad"`} {
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
	base, baseDir := writeRun(t, "base", variant{evil, `v" onmouseover="y`, "1.7.17", curve.Hold, rss(10, 2, 0)})
	cand, candDir := writeRun(t, "cand", variant{evil, `v" onmouseover="y`, "1.7.18", curve.Hold, rss(11, 2, 0)})
	// A downloaded candidate without its series files still compares.
	if err := os.RemoveAll(filepath.Join(candDir, evil)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	c, err := WriteComparison(out, base, cand, baseDir, candDir)
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
	cand2, candDir2 := writeRun(t, "cand2", variant{evil, `v" onmouseover="y`, "1.7.18", curve.Hold, rss(12, 2, 0)})
	out2 := t.TempDir()
	if _, err := WriteComparison(out2, base, cand2, baseDir, candDir2); err != nil {
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
	mk := func(id, version string, perKill float64) (Run, string) {
		s := curve.Series{Metric: "dockerd_goroutines", Unit: "goroutines", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}, {Name: curve.PhaseSettle, T: 31}}}
		for i := 0; i <= 330; i++ {
			t := float64(i) * 0.1
			op := math.Max(0, math.Min(math.Floor(t-1), 30))
			s.Points = append(s.Points, curve.Point{T: t, Op: op, V: 60 + perKill*op})
		}
		w, err := NewWriter(t.TempDir(), id)
		if err != nil {
			t.Fatal(err)
		}
		r := Result{Incident: "dockerd-kill-d-state", Variant: "fixed", Runtime: "dockerd", Version: version, Expect: "hold",
			Evaluations: curve.EvaluateAll(perOp, []curve.Series{s}, true)}
		if err := w.Add(r, []curve.Series{s}); err != nil {
			t.Fatal(err)
		}
		run, err := Load(w.Dir())
		if err != nil {
			t.Fatal(err)
		}
		return run, w.Dir()
	}
	base, bd := mk("base", "20.10.24", 0)
	cand, cd := mk("cand", "20.10.5", 2)
	out := t.TempDir()
	c, err := WriteComparison(out, base, cand, bd, cd)
	if err != nil {
		t.Fatal(err)
	}
	if p := onlyPair(t, c); !p.Regressed || p.Change != "held on 20.10.24, breaches on 20.10.5" {
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
	base, bd := writeRun(t, "20261122T010000Z",
		variant{"containerd-huge-log-line", "default", "1.7.17", curve.Hold, rss(20, 2, 0.1*mib)},
		variant{"containerd-huge-log-line", "unlimited", "1.7.17", curve.Breach, rss(21, 2, 52*mib)})
	cand, cd := writeRun(t, "20261123T010000Z",
		variant{"containerd-huge-log-line", "default", "1.7.18", curve.Hold, rss(22, 3, 3*mib)},
		variant{"containerd-huge-log-line", "unlimited", "1.7.18", curve.Breach, rss(23, 3, 50*mib)})
	c, err := WriteComparison(dir, base, cand, bd, cd)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s\n%s", dir, ComparisonTable(c))
}
