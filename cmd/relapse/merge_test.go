package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// matrixFixture is a real matrix run of this machine (dockerd-boltdb-corrupt's
// zero-page on dockerd 20.10.24, 26.1.5 and 28.5.2), trimmed to the files a merge reads and writes: the
// run-level summary.json, index.html, metrics.prom and overview charts, and
// each result's primary series (the overview charts are drawn from it).
const matrixFixture = "testdata/merge/track-zero-page"

// splitByCell writes one run directory per cell of run dir src into dst,
// as the nightly's one job per cell leaves them: named nightly-<cell>,
// each with its cell's results and their directories, and the host and
// times of the run it came from.
func splitByCell(t *testing.T, src, dst string) []string {
	t.Helper()
	run, err := results.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	byCell := map[string][]results.Result{}
	for _, r := range run.Results {
		cell := r.Cell
		if cell == "" { // a run without a matrix: each build is a cell
			cell = r.Runtime + "-" + r.Version
		}
		byCell[cell] = append(byCell[cell], r)
	}
	var dirs []string
	for cell, rs := range byCell {
		part := run
		part.ID, part.Results = "nightly-"+cell, rs
		dir := filepath.Join(dst, part.ID)
		for _, r := range rs {
			rel := filepath.Join(r.Incident, results.VariantDirName(r.Variant, r.Cell))
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(dir, rel), os.DirFS(filepath.Join(src, rel))); err != nil {
				t.Fatal(err)
			}
		}
		if err := results.WriteJSON(filepath.Join(dir, results.SummaryFile), part); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	if len(dirs) < 2 {
		t.Fatalf("%s has %d cells: a merge test needs a matrix run over several", src, len(dirs))
	}
	slices.Sort(dirs)
	return dirs
}

// files maps every file below dir to its content.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rendered is a copy of run directory src with its run-level pages drawn
// anew by today's renderer: the fixture keeps the measurement, the
// comparison follows the pages' current look.
func rendered(t *testing.T, src string, run results.Run) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := (report.Renderer{}).Run(dir, run); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Merging the cells of a matrix run, measured apart, gives back the report
// the matrix run wrote: the same summary.json, index.html, metrics.prom,
// overview charts and result directories, byte for byte (the merged run
// is named like the original, and each cell keeps the original's times).
func TestMergeOfCellsIsTheMatrixRunsReport(t *testing.T) {
	tmp := t.TempDir()
	cells := splitByCell(t, matrixFixture, filepath.Join(tmp, "cells"))
	matrix, err := results.Load(matrixFixture)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "merged", matrix.ID)
	// The merge's outcome is the matrix run's: this one has the finding
	// that zero-page holds on 26.1.5 and 28.5.2, measured while the
	// variant still expected a breach everywhere.
	passed, failed := matrix.Counts()
	code := exitOK
	if failed > 0 {
		code = exitFail
	}
	stdout, _ := wantCode(t, append([]string{"merge", "-out", out}, cells...), code)
	if !strings.Contains(stdout, fmt.Sprintf("%d passed, %d failed", passed, failed)) || !strings.Contains(stdout, "wrote "+filepath.Join(out, "index.html")) {
		t.Errorf("merge printed:\n%s", stdout)
	}
	want, got := files(t, rendered(t, matrixFixture, matrix)), files(t, out)
	for name, b := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("merged run lacks %s", name)
		} else if !bytes.Equal(g, b) {
			t.Errorf("merged %s differs from the matrix run's (%d bytes, want %d)", name, len(g), len(b))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("merged run has %s, which the matrix run has not", name)
		}
	}
}

func TestMergeNamesBadInput(t *testing.T) {
	tmp := t.TempDir()
	cells := splitByCell(t, matrixFixture, filepath.Join(tmp, "cells"))
	_, errs := wantCode(t, []string{"merge", cells[0]}, exitUsage)
	if !strings.Contains(errs, "-out DIR is required") {
		t.Errorf("no -out: %s", errs)
	}
	_, errs = wantCode(t, []string{"merge", "-out", filepath.Join(tmp, "m1")}, exitUsage)
	if !strings.Contains(errs, "takes the run directories to merge") {
		t.Errorf("no runs: %s", errs)
	}
	_, errs = wantCode(t, []string{"merge", "-out", filepath.Join(tmp, "m2"), cells[0], cells[0]}, exitUsage)
	if !strings.Contains(errs, "is in run nightly-") || !strings.Contains(errs, "merge takes each result once") {
		t.Errorf("one cell twice: %s", errs)
	}
	_, errs = wantCode(t, []string{"merge", "-out", filepath.Join(tmp, "m3"), cells[0], filepath.Join(tmp, "nope")}, exitUsage)
	if !strings.Contains(errs, "no run directory") {
		t.Errorf("a missing run: %s", errs)
	}
	second, err := results.Load(cells[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cells[1], second.Results[0].Incident)); err != nil {
		t.Fatal(err)
	}
	_, errs = wantCode(t, append([]string{"merge", "-out", filepath.Join(tmp, "m4")}, cells...), exitUsage)
	if !strings.Contains(errs, "is missing: pass whole run directories") {
		t.Errorf("a run without its result directories: %s", errs)
	}
	_, errs = wantCode(t, []string{"merge", "-out", cells[0], cells[0]}, exitUsage)
	if !strings.Contains(errs, "already holds a run") {
		t.Errorf("merging into a run: %s", errs)
	}
}

// A re-run of one item replaces it in the merged report with -supersede:
// the summary carries the re-run's result and the result's directory is
// the re-run's; without -supersede the same input is refused, naming the
// flag.
func TestMergeSupersedeTakesTheReRun(t *testing.T) {
	tmp := t.TempDir()
	cells := splitByCell(t, matrixFixture, filepath.Join(tmp, "cells"))
	first, err := results.Load(cells[0])
	if err != nil {
		t.Fatal(err)
	}
	// The re-run: one result of the first cell, measured an hour later,
	// with a marker in its directory.
	again := first
	again.ID = "rerun"
	r := first.Results[0]
	r.Started = r.Started.Add(time.Hour)
	if r.Started.IsZero() || r.Started.Before(first.Started) {
		r.Started = first.Started.Add(time.Hour)
	}
	r.Growth = 12345
	again.Results = []results.Result{r}
	again.Started = r.Started
	dir := filepath.Join(tmp, "rerun")
	rel := filepath.Join(r.Incident, results.VariantDirName(r.Variant, r.Cell))
	if err := os.CopyFS(filepath.Join(dir, rel), os.DirFS(filepath.Join(cells[0], rel))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel, "rerun.txt"), []byte("the re-run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSON(filepath.Join(dir, results.SummaryFile), again); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"merge", "-out", filepath.Join(tmp, "refused")}, append(cells, dir)...)
	if _, errs := wantCode(t, args, exitUsage); !strings.Contains(errs, "relapse merge -supersede") {
		t.Errorf("a result held twice without -supersede: %s", errs)
	}
	out := filepath.Join(tmp, "merged")
	// The re-run given first: the newer start decides, not the order.
	args = append([]string{"merge", "-supersede", "-out", out, dir}, cells...)
	code := exitOK
	if _, failed := mustLoad(t, matrixFixture).Counts(); failed > 0 {
		code = exitFail
	}
	stdout, _ := wantCode(t, args, code)
	if want := "superseded " + r.Name() + ": run rerun replaces run " + first.ID; !strings.Contains(stdout, want) {
		t.Errorf("merge printed:\n%s\nwant a line %q", stdout, want)
	}
	merged := mustLoad(t, out)
	matrix := mustLoad(t, matrixFixture)
	if len(merged.Results) != len(matrix.Results) {
		t.Fatalf("merged %d results, want the matrix run's %d (each once)", len(merged.Results), len(matrix.Results))
	}
	for _, m := range merged.Results {
		if m.Name() == r.Name() && m.Growth != 12345 {
			t.Errorf("%s: growth %g, want the re-run's 12345", m.Name(), m.Growth)
		}
	}
	if _, err := os.Stat(filepath.Join(out, rel, "rerun.txt")); err != nil {
		t.Errorf("the merged result's directory is not the re-run's: %v", err)
	}
}

func mustLoad(t *testing.T, dir string) results.Run {
	t.Helper()
	run, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return run
}
