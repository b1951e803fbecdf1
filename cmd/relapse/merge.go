package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// runMerge joins runs measured apart (the nightly's one job per matrix
// cell) into one run directory with the summary.json, charts and
// index.html one matrix run over every cell writes, so the night has one
// report and one A/B against the previous night. Its exit code is the
// merged run's outcome, as `relapse table` gives it.
func runMerge(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("merge", "-out DIR [-supersede] RUN...", stderr)
	out := fs.String("out", "", "the new run directory to write (its name is the merged run's id)")
	supersede := fs.Bool("supersede", false, "a result several runs hold (same incident, variant, cell) is taken from the newest, so a re-run replaces the item it repeats; without it a result held twice is an error")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	switch {
	case *out == "":
		return usageError(fs, stderr, "-out DIR is required: the new run directory, e.g. results/nightly")
	case len(pos) == 0:
		return usageError(fs, stderr, "takes the run directories to merge (results/<run id> ...), got none")
	}
	for _, dir := range pos {
		if _, err := loadRun(dir); err != nil {
			fmt.Fprintf(stderr, "relapse merge: %v\n", err)
			return exitUsage
		}
	}
	run, replaced, err := results.MergeDirs(*out, pos, report.Renderer{}, *supersede)
	if err != nil {
		fmt.Fprintf(stderr, "relapse merge: %v\n", err)
		return exitUsage
	}
	for _, s := range replaced {
		fmt.Fprintf(stdout, "superseded %s\n", s)
	}
	fmt.Fprint(stdout, report.Table(run))
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(*out, report.IndexFile))
	if passed, failed := run.Counts(); failed > 0 || passed == 0 {
		return exitFail
	}
	return exitOK
}
