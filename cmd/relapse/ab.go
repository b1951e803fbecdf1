package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// runAB compares a candidate run with a base run (last night's, or the same
// incidents on the previous runtime version) and fails when the candidate
// regressed, so a nightly job or an upgrade check can gate on it.
func runAB(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ab", "BASE CANDIDATE [-out DIR] [-base-version V] [-candidate-version V]", stderr)
	out := fs.String("out", "", "directory for ab.html, ab.json, ab.txt and charts/ (default CANDIDATE/ab-<base run id>)")
	baseVersion := fs.String("base-version", "", "compare only the base's results of this runtime version (for a run that holds several)")
	candVersion := fs.String("candidate-version", "", "compare only the candidate's results of this runtime version")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 2 {
		return usageError(fs, stderr, "takes two run directories, BASE and CANDIDATE, got %d", len(pos))
	}
	baseDir, candDir := pos[0], pos[1]
	base, err := loadRun(baseDir)
	if err != nil {
		fmt.Fprintf(stderr, "relapse ab: base: %v\n", err)
		return exitUsage
	}
	cand, err := loadRun(candDir)
	if err != nil {
		fmt.Fprintf(stderr, "relapse ab: candidate: %v\n", err)
		return exitUsage
	}
	if base, err = onlyVersion(base, *baseVersion); err != nil {
		fmt.Fprintf(stderr, "relapse ab: base: %v\n", err)
		return exitUsage
	}
	if cand, err = onlyVersion(cand, *candVersion); err != nil {
		fmt.Fprintf(stderr, "relapse ab: candidate: %v\n", err)
		return exitUsage
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(candDir, "ab-"+base.ID)
	}
	c, err := report.WriteComparison(dir, judge.Compare(base, cand), baseDir, candDir)
	if err != nil {
		fmt.Fprintf(stderr, "relapse ab: %v\n", err)
		return exitFail
	}
	fmt.Fprint(stdout, report.ComparisonTable(c))
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, report.CompareHTMLFile))
	if len(c.Pairs) == 0 {
		fmt.Fprintf(stderr, "relapse ab: nothing compared: runs %s and %s have no incident variant in common\n", base.ID, cand.ID)
		return exitFail
	}
	if c.Regressions > 0 {
		return exitFail
	}
	return exitOK
}

// onlyVersion keeps the results of one runtime version; "" keeps all.
func onlyVersion(run results.Run, version string) (results.Run, error) {
	if version == "" {
		return run, nil
	}
	var have []string
	kept := run.Results[:0:0]
	for _, r := range run.Results {
		if r.Version == version {
			kept = append(kept, r)
		}
		if !slices.Contains(have, r.Version) {
			have = append(have, r.Version)
		}
	}
	if len(kept) == 0 {
		return run, fmt.Errorf("run %s has no results of version %q (it has %q)", run.ID, version, have)
	}
	run.Results = kept
	return run, nil
}
