package main

import (
	"fmt"
	"io"

	"github.com/relapse-dev/relapse/harness/report"
)

// runTable prints a run's verdict table; it is how `make reproduce` ends,
// and its exit code is the run's outcome: 1 when any variant is not ok or
// the run holds no result at all (a run that measured nothing must not pass).
func runTable(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("table", "DIR", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "takes one run directory (results/<run id> or results/latest), got %d arguments", len(pos))
	}
	run, err := loadRun(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "relapse table: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, report.Table(run))
	if run.Finished.IsZero() {
		fmt.Fprintf(stderr, "relapse table: run %s is incomplete: it was cut short or is still running\n", run.ID)
	}
	passed, failed := run.Counts()
	switch {
	case failed > 0:
		return exitFail
	case passed == 0:
		fmt.Fprintf(stderr, "relapse table: run %s holds no results: nothing was measured\n", run.ID)
		return exitFail
	}
	return exitOK
}
