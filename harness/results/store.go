package results

import (
	"cmp"
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
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Renderer draws what a Store records for people. The Store calls it after
// every change, so a run cut short still leaves readable pages; package
// report has the real one. Errors fail the Add or Close that asked.
type Renderer interface {
	// Variant draws one variant's series into dir, its directory, and
	// appends the files written to r.Charts, relative to the run directory
	// (r.Name() + "/" + file). It runs before r is stored.
	Variant(dir string, r *Result, series []curve.Series) error
	// Run writes the run-level pages (index, metrics) into the run
	// directory dir.
	Run(dir string, run Run) error
}

// Store records one run in results/<run id>/: a result.json and raw series
// per variant, and summary.json for the run, rewritten on every Add. It
// records results as the caller judged them and never derives a verdict.
// Close finishes the run and points results/latest at it. A Store is safe
// for use from several goroutines of one process.
type Store struct {
	root     string // the results directory
	dir      string // root/<run id>
	renderer Renderer

	mu     sync.Mutex
	run    Run
	closed bool
}

// Open claims results/<runID>/ below resultsDir and records the host. An
// empty runID means the current UTC time (20261123T150405Z), suffixed -2,
// -3, ... if that directory exists. A given runID may name an existing
// directory (e.g. one the Makefile made for JUnit output) but not one that
// already holds a summary: that would overwrite another run. r draws the
// charts and pages; nil records data only.
func Open(resultsDir, runID string, r Renderer) (*Store, error) {
	if resultsDir == "" {
		return nil, errors.New("results: results directory is empty: pass the repository's results/ directory")
	}
	root, err := filepath.Abs(resultsDir)
	if err != nil {
		return nil, fmt.Errorf("results: results directory %q: %w", resultsDir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	host, err := HostInfo()
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	started := time.Now().UTC()
	id, err := claimRunDir(root, runID, started)
	if err != nil {
		return nil, err
	}
	s := &Store{root: root, dir: filepath.Join(root, id), renderer: r,
		run: Run{ID: id, Started: started, Host: host, Results: []Result{}}}
	if err := s.flush(); err != nil {
		return nil, err
	}
	return s, nil
}

// claimRunDir creates the run directory and returns the run id.
func claimRunDir(root, runID string, now time.Time) (string, error) {
	if runID != "" {
		if err := checkName("run id", runID); err != nil {
			return "", fmt.Errorf("results: %w", err)
		}
		if runID == LatestLink {
			return "", fmt.Errorf("results: run id %q is reserved for the symlink to the newest run", runID)
		}
		dir := filepath.Join(root, runID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("results: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, SummaryFile)); err == nil {
			return "", fmt.Errorf("results: run %s already has a %s in %s: choose another run id or remove that directory", runID, SummaryFile, dir)
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
			return "", fmt.Errorf("results: %w", err)
		}
	}
	return "", fmt.Errorf("results: 100 runs named %s* already exist in %s", base, root)
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
func (s *Store) Dir() string { return s.dir }

// Run returns a copy of what has been recorded so far.
func (s *Store) Run() Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.run
	r.Results = slices.Clone(s.run.Results)
	return r
}

// VariantDir creates and returns <run>/<incident>/<variant>/ (or
// <variant>@<cell>/ in a matrix run, a qualified cell's "/" written "+"),
// where a variant's series, charts and diagnostics go.
func (s *Store) VariantDir(incident, variant, cell string) (string, error) {
	if err := checkName("incident", incident); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	if err := checkName("variant", variant); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	// A cell's qualifiers ("containerd-2.3.5/runc-1.3.6") stay in one
	// directory level: variant@containerd-2.3.5+runc-1.3.6.
	if cell != "" {
		for _, part := range strings.Split(cell, "/") {
			if err := checkName("cell", part); err != nil {
				return "", fmt.Errorf("results: %w", err)
			}
		}
	}
	cell = strings.ReplaceAll(cell, "/", "+")
	dir := filepath.Join(s.dir, incident, VariantDirName(variant, cell))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	return dir, nil
}

// Add records one variant's result as given: its Verdict, OK, Evaluations
// and primary budget are the judge's (judge.Fill), and Add never derives
// them again. It fills only what is bookkeeping: the file lists, Units from
// the series, DurationS when 0, diagnostics made relative to the run
// directory, and numbers JSON cannot hold replaced (with Warnings). It
// writes the series (CSV and JSON twin) and result.json, has the Renderer
// draw the variant's charts, and rewrites summary.json and the run's pages.
// Adding the same incident, variant and cell again (a retry) replaces the
// earlier result.
func (s *Store) Add(r Result, series []curve.Series) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("results: add %s: store is closed", r.Name())
	}
	if r.Expect != string(curve.Hold) && r.Expect != string(curve.Breach) {
		return fmt.Errorf("results: add %s: expect %q: want %q or %q", r.Name(), r.Expect, curve.Hold, curve.Breach)
	}
	dir, err := s.VariantDir(r.Incident, r.Variant, r.Cell)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, sr := range series {
		if err := checkName("metric", sr.Metric); err != nil {
			return fmt.Errorf("results: add %s: %w", r.Name(), err)
		}
		if seen[sr.Metric] {
			return fmt.Errorf("results: add %s: series %q given twice", r.Name(), sr.Metric)
		}
		seen[sr.Metric] = true
	}

	fill(&r, series)
	r.SeriesFiles, r.Charts = []string{}, []string{}
	for _, sr := range series {
		if err := writeSeries(dir, &r, sr); err != nil {
			return fmt.Errorf("results: add %s: %w", r.Name(), err)
		}
		csv := r.Name() + "/" + sr.Metric + ".csv"
		r.SeriesFiles = append(r.SeriesFiles, csv)
		if sr.Metric == r.Metric {
			r.Series = csv
		}
	}
	if s.renderer != nil {
		if err := s.renderer.Variant(dir, &r, series); err != nil {
			return fmt.Errorf("results: add %s: render: %w", r.Name(), err)
		}
	}
	for i, d := range r.Diagnostics {
		r.Diagnostics[i] = s.relative(d)
	}
	sanitize(&r)

	if err := WriteJSON(filepath.Join(dir, ResultFile), r); err != nil {
		return fmt.Errorf("results: add %s: %w", r.Name(), err)
	}
	i := slices.IndexFunc(s.run.Results, func(o Result) bool {
		return o.Incident == r.Incident && o.Variant == r.Variant && o.Cell == r.Cell
	})
	if i >= 0 {
		s.run.Results[i] = r
	} else {
		s.run.Results = append(s.run.Results, r)
	}
	sortResults(s.run.Results)
	return s.flush()
}

// sortResults puts results in summary.json's order: by incident, variant,
// then cell.
func sortResults(rs []Result) {
	slices.SortStableFunc(rs, func(a, b Result) int {
		return cmp.Or(strings.Compare(a.Incident, b.Incident), strings.Compare(a.Variant, b.Variant), CompareCells(a.Cell, b.Cell))
	})
}

// CompareCells orders matrix cells (and any "<runtime>-<version>" build
// name) by runtime, then version: containerd-1.6.20 before
// containerd-1.7.18 before containerd-2.0.14.
func CompareCells(a, b string) int {
	ka, va, _ := strings.Cut(a, "-")
	kb, vb, _ := strings.Cut(b, "-")
	return cmp.Or(strings.Compare(ka, kb), runtime.CompareVersions(va, vb))
}

// fill completes a result's bookkeeping from its series; it leaves every
// judged field alone.
func fill(r *Result, series []curve.Series) {
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
	if r.DurationS == 0 {
		for _, s := range series {
			if n := len(s.Points); n > 0 {
				r.DurationS = math.Max(r.DurationS, s.Points[n-1].T-s.Points[0].T)
			}
		}
	}
}

// writeSeries writes one series' CSV and JSON twin into dir.
func writeSeries(dir string, r *Result, s curve.Series) error {
	var csv strings.Builder
	if err := WriteCSV(&csv, s); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, s.Metric+".csv"), []byte(csv.String())); err != nil {
		return err
	}
	// JSON cannot hold NaN or Inf: store the JSON twin without such points
	// and say so (the CSV keeps them).
	clean := s
	clean.Points = slices.DeleteFunc(slices.Clone(s.Points), func(p curve.Point) bool { return !finite(p.T) || !finite(p.Op) || !finite(p.V) })
	if n := len(s.Points) - len(clean.Points); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("series %s: %d non-finite points left out of %s.json (kept in the CSV)", s.Metric, n, s.Metric))
	}
	return WriteJSON(filepath.Join(dir, s.Metric+".json"), clean)
}

// relative makes a diagnostics path relative to the run directory when it
// lies inside it, so links in index.html work wherever results/ is copied.
func (s *Store) relative(path string) string {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(s.dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return path
	}
	return filepath.ToSlash(rel)
}

// Close marks the run finished, rewrites its summary and pages, and points
// results/latest at it. Safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.run.Finished = time.Now().UTC()
	if err := s.flush(); err != nil {
		return err
	}
	return pointLatest(s.root, s.run.ID)
}

// flush rewrites the run-level files. Callers hold s.mu.
func (s *Store) flush() error {
	if err := WriteJSON(filepath.Join(s.dir, SummaryFile), s.run); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if s.renderer == nil {
		return nil
	}
	run := s.run
	run.Results = slices.Clone(s.run.Results)
	if err := s.renderer.Run(s.dir, run); err != nil {
		return fmt.Errorf("results: render run %s: %w", run.ID, err)
	}
	return nil
}
