package results_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// writeSample records the sample run with the real renderer, so the
// chart paths Add records can be checked against the files.
func writeSample(t *testing.T, resultsDir string) *results.Store {
	t.Helper()
	return resultstest.WriteSample(t, resultsDir, report.Renderer{})
}

// TestSummarySchema checks every key of the result contract other tools
// read, with its JSON type, by decoding summary.json into plain maps.
func TestSummarySchema(t *testing.T) {
	w := writeSample(t, t.TempDir())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(w.Dir(), results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n  \"results\"") {
		t.Errorf("summary.json is not indented")
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	type kind int
	const (
		str kind = iota
		num
		boolean
		array
		object
	)
	check := func(where string, m map[string]any, key string, k kind) {
		t.Helper()
		v, ok := m[key]
		if !ok {
			t.Errorf("%s: key %q missing", where, key)
			return
		}
		var good bool
		switch k {
		case str:
			_, good = v.(string)
		case num:
			_, good = v.(float64)
		case boolean:
			_, good = v.(bool)
		case array:
			_, good = v.([]any)
		case object:
			_, good = v.(map[string]any)
		}
		if !good {
			t.Errorf("%s: key %q is %T (%v)", where, key, v, v)
		}
	}
	check("run", doc, "id", str)
	check("run", doc, "started", str)
	check("run", doc, "finished", str)
	check("run", doc, "host", object)
	check("run", doc, "results", array)
	host := doc["host"].(map[string]any)
	for _, k := range []string{"kernel", "cgroup_version"} {
		check("host", host, k, str)
	}
	check("host", host, "cpus", num)
	check("host", host, "mem_total", num)
	if v := host["cgroup_version"]; v != "v1" && v != "v2" {
		t.Errorf("cgroup_version %v", v)
	}

	rs := doc["results"].([]any)
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3", len(rs))
	}
	var order []string
	for _, r := range rs {
		m := r.(map[string]any)
		where := m["incident"].(string) + "/" + m["variant"].(string)
		order = append(order, where)
		for _, k := range []string{"incident", "variant", "runtime", "version", "expect", "verdict", "metric", "slope_unit", "series"} {
			check(where, m, k, str)
		}
		for _, k := range []string{"slope", "budget", "growth", "duration_s", "verdict_after_s"} {
			check(where, m, k, num)
		}
		for _, k := range []string{"ok", "stopped_early"} {
			check(where, m, k, boolean)
		}
		for _, k := range []string{"diagnostics", "evaluations", "series_files", "charts"} {
			check(where, m, k, array)
		}
		// The series path is relative to the run directory and exists.
		series := m["series"].(string)
		if want := where + "/" + m["metric"].(string) + ".csv"; series != want {
			t.Errorf("%s: series %q, want %q", where, series, want)
		}
		if _, err := os.Stat(filepath.Join(w.Dir(), series)); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		for _, c := range m["charts"].([]any) {
			if _, err := os.Stat(filepath.Join(w.Dir(), c.(string))); err != nil {
				t.Errorf("%s: chart %v", where, err)
			}
		}
	}
	want := []string{"sample-log-growth/default-limit", "sample-log-growth/unlimited", "sample-loop-drain/fixed"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("results in order %v, want %v", order, want)
	}

	// The example of the contract, checked by value on the breach variant.
	br := rs[1].(map[string]any)
	check("breach", br, "config", object)
	check("breach", br, "guard", object)
	if br["runtime"] != "containerd" || br["version"] != "1.6.20" || br["expect"] != "breach" || br["verdict"] != "breach" || br["ok"] != true ||
		br["metric"] != "containerd_rss_bytes" || br["slope_unit"] != "bytes/s" || br["budget"] != float64(1<<20) || br["stopped_early"] != true {
		t.Errorf("breach result: %v", br)
	}
	if s := br["slope"].(float64); math.Abs(s-52<<20) > 1<<20 {
		t.Errorf("breach slope %v, want ~52 MiB/s", s)
	}
	if d := br["diagnostics"].([]any); len(d) != 1 || d[0] != "sample-log-growth/unlimited/goroutines.txt" {
		t.Errorf("diagnostics %v, want one path relative to the run dir", d)
	}
	kill := rs[2].(map[string]any)
	check("kill", kill, "extras", object)
	if kill["charts"].([]any)[1] != "sample-loop-drain/fixed/dockerd_goroutines-per-op.svg" {
		t.Errorf("per-op chart missing: %v", kill["charts"])
	}
}

// TestSeriesJSONRecomputesVerdict reads a stored series back and judges it
// again: the reason the raw series is kept.
func TestSeriesJSONRecomputesVerdict(t *testing.T) {
	w := writeSample(t, t.TempDir())
	run, err := results.Load(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range run.Results {
		var series []curve.Series
		var budgets []curve.Budget
		for _, f := range r.SeriesFiles {
			s, err := results.LoadSeries(filepath.Join(w.Dir(), strings.TrimSuffix(f, ".csv")+".json"))
			if err != nil {
				t.Fatal(err)
			}
			series = append(series, s)
			csvFile, err := os.Open(filepath.Join(w.Dir(), f))
			if err != nil {
				t.Fatal(err)
			}
			pts, err := results.ReadCSV(csvFile)
			csvFile.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != len(s.Points) || pts[len(pts)-1] != s.Points[len(pts)-1] {
				t.Errorf("%s: CSV and JSON disagree", f)
			}
		}
		for _, e := range r.Evaluations {
			budgets = append(budgets, e.Budget)
		}
		again := curve.EvaluateAll(budgets, series, true)
		if v := curve.Combine(again); string(v) != r.Verdict {
			t.Errorf("%s/%s: recomputed verdict %s, stored %s", r.Incident, r.Variant, v, r.Verdict)
		}
		if again[0].Measured != r.Evaluations[0].Measured {
			t.Errorf("%s/%s: recomputed %v, stored %v", r.Incident, r.Variant, again[0].Measured, r.Evaluations[0].Measured)
		}
	}
}

func TestLatestPointsAtNewestRun(t *testing.T) {
	root := t.TempDir()
	var ids []string
	for i := 0; i < 2; i++ {
		w, err := results.Open(root, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		ids = append(ids, filepath.Base(w.Dir()))
	}
	if ids[0] == ids[1] {
		t.Fatalf("two runs got the same id %s", ids[0])
	}
	if _, err := time.Parse("20060102T150405Z", strings.SplitN(ids[0], "-", 2)[0]); err != nil {
		t.Errorf("default run id %q is not a UTC timestamp: %v", ids[0], err)
	}
	target, err := os.Readlink(filepath.Join(root, results.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if target != ids[1] {
		t.Errorf("latest -> %q, want the relative name %q", target, ids[1])
	}
	run, err := results.Load(filepath.Join(root, results.LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != ids[1] || run.Finished.IsZero() {
		t.Errorf("latest run %s finished %v", run.ID, run.Finished)
	}
	if left, _ := filepath.Glob(filepath.Join(root, ".*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestLatestThatIsADirectoryIsAnError(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, results.LatestLink), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := results.Open(root, "r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("Close with a latest directory: %v", err)
	}
}

func TestOpenRunIDs(t *testing.T) {
	root := t.TempDir()
	// An explicit id may reuse a directory made beforehand (JUnit output)...
	if err := os.MkdirAll(filepath.Join(root, "ci-42"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := results.Open(root, "ci-42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Dir() != filepath.Join(root, "ci-42") {
		t.Errorf("dir %s", w.Dir())
	}
	// ...but not one holding another run's summary.
	if _, err := results.Open(root, "ci-42", nil); err == nil || !strings.Contains(err.Error(), "already has") {
		t.Errorf("second writer on ci-42: %v", err)
	}
	for _, bad := range []string{"a/b", "..", results.LatestLink} {
		if _, err := results.Open(root, bad, nil); err == nil {
			t.Errorf("run id %q accepted", bad)
		}
	}
	if _, err := results.Open("", "", nil); err == nil {
		t.Errorf("empty results dir accepted")
	}
}

func TestAddValidatesAndReplaces(t *testing.T) {
	w, err := results.Open(t.TempDir(), "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := resultstest.ByName(t, "sample-log-growth", "unlimited")

	bad := s.Result
	bad.Expect = "pass"
	if err := w.Add(bad, s.Series); err == nil || !strings.Contains(err.Error(), "expect") {
		t.Errorf("bad expect: %v", err)
	}
	bad = s.Result
	bad.Incident = "../escape"
	if err := w.Add(bad, s.Series); err == nil {
		t.Errorf("incident with a path separator accepted")
	}
	dup := []curve.Series{s.Series[0], s.Series[0]}
	if err := w.Add(s.Result, dup); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate series: %v", err)
	}

	// A failed attempt, then a retry that passes: the retry replaces it.
	failed := results.Result{Incident: s.Result.Incident, Variant: s.Result.Variant, Runtime: string(runtime.Containerd),
		Expect: string(curve.Breach), Verdict: string(curve.Inconclusive), Error: "sandbox did not start"}
	if err := w.Add(failed, nil); err != nil {
		t.Fatal(err)
	}
	got := w.Run().Results
	if len(got) != 1 || got[0].OK || got[0].Verdict != string(curve.Inconclusive) || got[0].Diagnostics == nil || got[0].Evaluations == nil {
		t.Fatalf("failed result stored as %+v", got)
	}
	retry := s.Result
	if err := w.Add(retry, s.Series); err != nil {
		t.Fatal(err)
	}
	got = w.Run().Results
	if len(got) != 1 || !got[0].OK || got[0].Error != "" {
		t.Fatalf("retry stored as %+v", got)
	}
	// The store records what the judge decided and never decides again
	// (judge.Fill overrules a wrong OK; see the judge's tests): a result is
	// stored as given.
	given := s.Result
	given.Verdict, given.OK, given.Metric = string(curve.Hold), false, "made_up"
	if err := w.Add(given, s.Series); err != nil {
		t.Fatal(err)
	}
	if r := w.Run().Results[0]; r.OK || r.Verdict != string(curve.Hold) || r.Metric != "made_up" || r.Series != "" {
		t.Errorf("stored ok=%v verdict %s metric %q series %q, want the result as given (no series is the made-up metric's)", r.OK, r.Verdict, r.Metric, r.Series)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(s.Result, s.Series); err == nil {
		t.Errorf("Add after Close accepted")
	}
}

func TestAddStoresNonFiniteNumbersWithWarnings(t *testing.T) {
	w, err := results.Open(t.TempDir(), "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := resultstest.ByName(t, "sample-log-growth", "unlimited")
	r := s.Result
	r.Evaluations = append([]curve.Evaluation(nil), r.Evaluations...)
	fit := *r.Evaluations[0].Fit
	fit.Hi = math.Inf(1)
	r.Evaluations[0].Fit = &fit
	r.Extras = map[string]float64{"x": math.NaN()}
	series := []curve.Series{s.Series[0]}
	series[0].Points = append(append([]curve.Point(nil), series[0].Points...), curve.Point{T: 99, V: math.NaN()})
	if err := w.Add(r, series); err != nil {
		t.Fatal(err)
	}
	got, err := results.Load(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	warn := strings.Join(got.Results[0].Warnings, "\n")
	for _, want := range []string{"evaluations[0].fit.hi was +Inf", "extras.x was NaN", "1 non-finite points"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q:\n%s", want, warn)
		}
	}
	if s.Result.Evaluations[0].Fit.Hi == 0 {
		t.Errorf("sanitizing changed the caller's evaluation")
	}
}

func TestVariantDir(t *testing.T) {
	w, err := results.Open(t.TempDir(), "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.VariantDir("sample-log-growth", "unlimited", "")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() || d != filepath.Join(w.Dir(), "sample-log-growth", "unlimited") {
		t.Errorf("variant dir %s: %v", d, err)
	}
	if _, err := w.VariantDir("x", "..", ""); err == nil {
		t.Errorf("variant .. accepted")
	}
	// A qualified cell is one directory, not a path.
	d, err = w.VariantDir("sample-log-growth", "unlimited", "containerd-2.3.5/runc-1.3.6")
	if err != nil || d != filepath.Join(w.Dir(), "sample-log-growth", "unlimited@containerd-2.3.5+runc-1.3.6") {
		t.Errorf("variant dir of a qualified cell: %s, %v", d, err)
	}
}

func TestLoadRejectsNonSummary(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.Load(dir); err == nil {
		t.Errorf("missing summary accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, results.SummaryFile), []byte(`{"results": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Load(dir); err == nil || !strings.Contains(err.Error(), "no run id") {
		t.Errorf("summary without id: %v", err)
	}
}

func TestConcurrentAdds(t *testing.T) {
	w, err := results.Open(t.TempDir(), "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := resultstest.ByName(t, "sample-log-growth", "unlimited")
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			r := s.Result
			r.Variant = "v" + strconv.Itoa(i)
			errs <- w.Add(r, s.Series)
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := results.Load(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Results) != 8 || run.Results[0].Variant != "v0" || run.Results[7].Variant != "v7" {
		t.Errorf("%d results after 8 concurrent adds", len(run.Results))
	}
}

// A matrix run measures one variant on several runtime builds: each cell
// keeps its own result and directory, a retried cell replaces only itself,
// results sort by version (1.7.18 after 1.6.20, before 2.0.14), and an A/B
// of two cells of the same run pairs them.
func TestMatrixCellsKeepOneResultEach(t *testing.T) {
	w, err := results.Open(t.TempDir(), "m", report.Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	s := resultstest.ByName(t, "sample-log-growth", "unlimited")
	for i, v := range []string{"2.0.14", "1.7.18", "1.6.20", "1.7.18"} {
		r := s.Result
		r.Cell, r.Version = "containerd-"+v, v
		r.Title = fmt.Sprintf("attempt %d", i)
		if err := w.Add(r, s.Series); err != nil {
			t.Fatal(err)
		}
	}
	got := w.Run().Results
	var cells []string
	for _, r := range got {
		cells = append(cells, r.Cell)
	}
	if strings.Join(cells, " ") != "containerd-1.6.20 containerd-1.7.18 containerd-2.0.14" {
		t.Fatalf("cells stored %v, want one per build in version order", cells)
	}
	i := slices.IndexFunc(got, func(r results.Result) bool { return r.Name() == "sample-log-growth/unlimited@containerd-1.7.18" })
	if i < 0 {
		t.Fatalf("no result of the cell containerd-1.7.18 in %v", cells)
	}
	r := got[i]
	if r.Version != "1.7.18" || r.Units == nil {
		t.Fatalf("cell stored as %+v", r)
	}
	if r.Title != "attempt 3" {
		t.Errorf("the retried cell kept %q, want the retry (attempt 3) to replace it", r.Title)
	}
	for _, f := range append(r.SeriesFiles, r.Charts...) {
		if !strings.HasPrefix(f, "sample-log-growth/unlimited@containerd-1.7.18/") {
			t.Errorf("file %s is not in the cell's directory", f)
		}
		if _, err := os.Stat(filepath.Join(w.Dir(), f)); err != nil {
			t.Errorf("cell file: %v", err)
		}
	}
	if _, err := w.VariantDir("x", "v", "../up"); err == nil {
		t.Errorf("cell with a path separator accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(w.Dir(), report.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `id="sample-log-growth--unlimited--containerd-1-7-18"`) {
		t.Errorf("index.html has no anchor per cell")
	}

	run := w.Run()
	base, cand := run, run
	base.Results, cand.Results = got[:1], got[1:2]
	c := judge.Compare(base, cand)
	if len(c.Pairs) != 1 || c.Pairs[0].Base.Version != "1.6.20" || c.Pairs[0].Candidate.Version != "1.7.18" {
		t.Errorf("A/B of two cells: %+v", c.Pairs)
	}
}
