package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

// File names inside a run directory.
const (
	SummaryFile     = "summary.json"
	IndexFile       = "index.html"
	MetricsFile     = "metrics.prom"
	ResultFile      = "result.json" // per variant, next to its series
	LatestLink      = "latest"
	runIDTimeLayout = "20060102T150405Z"
)

// Writer writes one run's results directory. Every Add rewrites the run's
// summary, index and metrics, so a run cut short still leaves a readable
// report; Close finishes it and points results/latest at it. A Writer is
// safe for use from several goroutines of one process.
type Writer struct {
	root string // the results directory
	dir  string // root/<run id>

	mu     sync.Mutex
	run    Run
	closed bool
}

// NewWriter claims results/<runID>/ below resultsDir and records the host.
// An empty runID means the current UTC time (20261123T150405Z), suffixed
// -2, -3, ... if that directory exists. A given runID may name an existing
// directory (e.g. one the Makefile made for JUnit output) but not one that
// already holds a summary: that would overwrite another run.
func NewWriter(resultsDir, runID string) (*Writer, error) {
	if resultsDir == "" {
		return nil, errors.New("report: results directory is empty: pass the repository's results/ directory")
	}
	root, err := filepath.Abs(resultsDir)
	if err != nil {
		return nil, fmt.Errorf("report: results directory %q: %w", resultsDir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	host, err := HostInfo()
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	started := time.Now().UTC()
	id, err := claimRunDir(root, runID, started)
	if err != nil {
		return nil, err
	}
	w := &Writer{root: root, dir: filepath.Join(root, id), run: Run{ID: id, Started: started, Host: host, Results: []Result{}}}
	if err := w.flush(); err != nil {
		return nil, err
	}
	return w, nil
}

// claimRunDir creates the run directory and returns the run id.
func claimRunDir(root, runID string, now time.Time) (string, error) {
	if runID != "" {
		if err := checkName("run id", runID); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		if runID == LatestLink {
			return "", fmt.Errorf("report: run id %q is reserved for the symlink to the newest run", runID)
		}
		dir := filepath.Join(root, runID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, SummaryFile)); err == nil {
			return "", fmt.Errorf("report: run %s already has a %s in %s: choose another run id or remove that directory", runID, SummaryFile, dir)
		}
		return runID, nil
	}
	base := now.Format(runIDTimeLayout)
	for i := 1; i <= 100; i++ {
		id := base
		if i > 1 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(filepath.Join(root, id), 0o755)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("report: %w", err)
		}
	}
	return "", fmt.Errorf("report: 100 runs named %s* already exist in %s", base, root)
}

// checkName rejects a name that cannot be one path element.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q is not a usable directory name", what, name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("%s %q contains a path separator or NUL; it names a directory", what, name)
	}
	return nil
}

// Dir is the run directory, results/<run id>.
func (w *Writer) Dir() string { return w.dir }

// Run returns a copy of what has been recorded so far, e.g. for Table.
func (w *Writer) Run() Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.run
	r.Results = slices.Clone(w.run.Results)
	return r
}

// Find returns the stored result named name (Result.Name): the result as
// Add completed it, with units, file lists and relative diagnostics.
func (w *Writer) Find(name string) (Result, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.run.Results {
		if r.Name() == name {
			return r, true
		}
	}
	return Result{}, false
}

// VariantDir creates and returns <run>/<incident>/<variant>/ (or
// <variant>@<cell>/ in a matrix run), where a variant's series, charts and
// diagnostics go (scenario.Env.Dir).
func (w *Writer) VariantDir(incident, variant, cell string) (string, error) {
	if err := checkName("incident", incident); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := checkName("variant", variant); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if cell != "" {
		if err := checkName("cell", cell); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
	}
	dir := filepath.Join(w.dir, incident, VariantDirName(variant, cell))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return dir, nil
}

// Add records one variant's result and writes its series (CSV, JSON twin,
// SVG chart, and a per-op chart for metrics with a per-op budget) and its
// result.json, then rewrites the run's summary, index and metrics. It fills
// what the result leaves empty from its evaluations and series: Verdict
// (curve.Combine, or inconclusive without evaluations), the primary budget's
// Metric/Slope/SlopeUnit/Budget, Growth, DurationS, the file lists; it
// always sets OK. Adding the same incident, variant and cell again (a
// retried spec) replaces the earlier result.
func (w *Writer) Add(r Result, series []curve.Series) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("report: add %s: writer is closed", r.Name())
	}
	if r.Expect != string(curve.Hold) && r.Expect != string(curve.Breach) {
		return fmt.Errorf("report: add %s: expect %q: want %q or %q", r.Name(), r.Expect, curve.Hold, curve.Breach)
	}
	dir, err := w.VariantDir(r.Incident, r.Variant, r.Cell)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range series {
		if err := checkName("metric", s.Metric); err != nil {
			return fmt.Errorf("report: add %s: %w", r.Name(), err)
		}
		if seen[s.Metric] {
			return fmt.Errorf("report: add %s: series %q given twice", r.Name(), s.Metric)
		}
		seen[s.Metric] = true
	}

	complete(&r, series)
	rel := func(name string) string { return r.Name() + "/" + name }
	r.SeriesFiles, r.Charts = []string{}, []string{}
	for _, s := range series {
		if err := w.writeSeries(dir, &r, s); err != nil {
			return fmt.Errorf("report: add %s: %w", r.Name(), err)
		}
		r.SeriesFiles = append(r.SeriesFiles, rel(s.Metric+".csv"))
		r.Charts = append(r.Charts, rel(s.Metric+".svg"))
		if hasPerOpBudget(r.Evaluations, s.Metric) {
			r.Charts = append(r.Charts, rel(s.Metric+"-per-op.svg"))
		}
		if s.Metric == r.Metric {
			r.Series = rel(s.Metric + ".csv")
		}
	}
	for i, d := range r.Diagnostics {
		r.Diagnostics[i] = w.relative(d)
	}
	sanitize(&r)

	if err := writeJSON(filepath.Join(dir, ResultFile), r); err != nil {
		return fmt.Errorf("report: add %s: %w", r.Name(), err)
	}
	i := slices.IndexFunc(w.run.Results, func(o Result) bool {
		return o.Incident == r.Incident && o.Variant == r.Variant && o.Cell == r.Cell
	})
	if i >= 0 {
		w.run.Results[i] = r
	} else {
		w.run.Results = append(w.run.Results, r)
	}
	slices.SortStableFunc(w.run.Results, func(a, b Result) int {
		return cmp.Or(strings.Compare(a.Incident, b.Incident), strings.Compare(a.Variant, b.Variant), compareCells(a.Cell, b.Cell))
	})
	return w.flush()
}

// compareCells orders matrix cells by runtime, then version:
// containerd-1.6.20 before containerd-1.7.18 before containerd-2.0.14.
func compareCells(a, b string) int {
	ka, va, _ := strings.Cut(a, "-")
	kb, vb, _ := strings.Cut(b, "-")
	return cmp.Or(strings.Compare(ka, kb), compareVersions(va, vb))
}

// complete fills what a result leaves empty from its evaluations and series.
func complete(r *Result, series []curve.Series) {
	if r.Verdict == "" {
		r.Verdict = string(curve.Inconclusive)
		if len(r.Evaluations) > 0 {
			r.Verdict = string(curve.Combine(r.Evaluations))
		}
	}
	r.OK = r.Error == "" && r.Verdict == r.Expect
	if r.Evaluations == nil {
		r.Evaluations = []curve.Evaluation{}
	}
	if r.Diagnostics == nil {
		r.Diagnostics = []string{}
	} else {
		r.Diagnostics = slices.Clone(r.Diagnostics)
	}
	if len(series) > 0 {
		r.Units = make(map[string]string, len(series))
		for _, s := range series {
			r.Units[s.Metric] = s.Unit
		}
	}
	if r.Metric == "" {
		r.SetPrimary(r.Evaluations, series)
	}
	if r.DurationS == 0 {
		for _, s := range series {
			if n := len(s.Points); n > 0 {
				r.DurationS = math.Max(r.DurationS, s.Points[n-1].T-s.Points[0].T)
			}
		}
	}
}

// writeSeries writes one series' CSV, JSON twin and charts into dir.
func (w *Writer) writeSeries(dir string, r *Result, s curve.Series) error {
	var csv strings.Builder
	if err := WriteCSV(&csv, s); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, s.Metric+".csv"), []byte(csv.String())); err != nil {
		return err
	}
	// JSON cannot hold NaN or Inf: store the JSON twin without such points
	// and say so (the CSV keeps them).
	clean := s
	clean.Points = slices.DeleteFunc(slices.Clone(s.Points), func(p curve.Point) bool { return !finite(p.T) || !finite(p.Op) || !finite(p.V) })
	if n := len(s.Points) - len(clean.Points); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("series %s: %d non-finite points left out of %s.json (kept in the CSV)", s.Metric, n, s.Metric))
	}
	if err := writeJSON(filepath.Join(dir, s.Metric+".json"), clean); err != nil {
		return err
	}
	title := fmt.Sprintf("%s %s: %s", r.Name(), s.Metric, metricVerdict(r.Evaluations, s.Metric))
	if err := writeFile(filepath.Join(dir, s.Metric+".svg"), Chart(s, r.Evaluations, title)); err != nil {
		return err
	}
	if hasPerOpBudget(r.Evaluations, s.Metric) {
		if err := writeFile(filepath.Join(dir, s.Metric+"-per-op.svg"), ChartPerOp(s, r.Evaluations, title+" (per op)")); err != nil {
			return err
		}
	}
	return nil
}

// metricVerdict is the combined verdict of a metric's own budgets.
func metricVerdict(evals []curve.Evaluation, metric string) string {
	var mine []curve.Evaluation
	for _, e := range evals {
		if e.Budget.Metric == metric {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return "no budget"
	}
	return string(curve.Combine(mine))
}

func hasPerOpBudget(evals []curve.Evaluation, metric string) bool {
	for _, e := range evals {
		if e.Budget.Metric == metric && e.Budget.Kind == curve.Slope && e.Budget.Per == curve.PerOp {
			return true
		}
	}
	return false
}

// relative makes a diagnostics path relative to the run directory when it
// lies inside it, so links in index.html work wherever results/ is copied.
func (w *Writer) relative(path string) string {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(w.dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return path
	}
	return filepath.ToSlash(rel)
}

// sanitize replaces numbers JSON cannot hold (NaN, ±Inf) with 0 and records
// a warning for each, so one bad fit does not lose the whole summary.
func sanitize(r *Result) {
	fix := func(name string, v *float64) {
		if !finite(*v) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s was %v; stored as 0", name, *v))
			*v = 0
		}
	}
	fix("slope", &r.Slope)
	fix("budget", &r.Budget)
	fix("growth", &r.Growth)
	fix("duration_s", &r.DurationS)
	fix("verdict_after_s", &r.VerdictAfterS)
	if r.Extras != nil {
		extras := make(map[string]float64, len(r.Extras))
		for k, v := range r.Extras {
			fix("extras."+k, &v)
			extras[k] = v
		}
		r.Extras = extras
	}
	r.Evaluations = slices.Clone(r.Evaluations)
	for i := range r.Evaluations {
		e := &r.Evaluations[i]
		p := fmt.Sprintf("evaluations[%d].", i)
		fix(p+"measured", &e.Measured)
		fix(p+"baseline", &e.Baseline)
		fix(p+"budget.max", &e.Budget.Max)
		fix(p+"budget.warmup", &e.Budget.Warmup)
		fix(p+"budget.settle_window", &e.Budget.SettleWindow)
		if e.Fit != nil {
			f := *e.Fit
			fix(p+"fit.slope", &f.Slope)
			fix(p+"fit.intercept", &f.Intercept)
			fix(p+"fit.lo", &f.Lo)
			fix(p+"fit.hi", &f.Hi)
			fix(p+"fit.confidence", &f.Confidence)
			e.Fit = &f
		}
	}
}

// Close marks the run finished, rewrites its summary, index and metrics,
// and points results/latest at it. Safe to call twice.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.run.Finished = time.Now().UTC()
	if err := w.flush(); err != nil {
		return err
	}
	return pointLatest(w.root, w.run.ID)
}

// flush rewrites the run-level files. Callers hold w.mu.
func (w *Writer) flush() error {
	if err := writeJSON(filepath.Join(w.dir, SummaryFile), w.run); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	page, err := HTML(w.run)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := writeFile(filepath.Join(w.dir, IndexFile), page); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := writeFile(filepath.Join(w.dir, MetricsFile), OpenMetrics(w.run)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// pointLatest makes root/latest a relative symlink to id, replacing the old
// link atomically (a reader never sees it missing).
func pointLatest(root, id string) error {
	link := filepath.Join(root, LatestLink)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("report: %s is not a symlink; move it away so it can point at the newest run", link)
	}
	tmp := filepath.Join(root, fmt.Sprintf(".%s.%d.tmp", LatestLink, os.Getpid()))
	_ = os.Remove(tmp) // a leftover of a killed process with our pid
	if err := os.Symlink(id, tmp); err != nil {
		return fmt.Errorf("report: link latest: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("report: link latest: %w", err)
	}
	return nil
}

// Load reads a run's summary.json back from its directory (results/<id> or
// results/latest).
func Load(dir string) (Run, error) {
	var r Run
	path := filepath.Join(dir, SummaryFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("report: load run: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("report: load run %s: %w", path, err)
	}
	if r.ID == "" {
		return r, fmt.Errorf("report: load run %s: no run id: not a relapse summary", path)
	}
	return r, nil
}

// writeJSON writes v indented, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFile(path, append(b, '\n'))
}

// writeFile writes b to path through a temp file and a rename, so a reader
// (a browser refreshing index.html, CI picking up summary.json) never sees
// half a file.
func writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
