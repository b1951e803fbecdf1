package main

import (
	"fmt"
	"io"

	"github.com/relapse-dev/relapse/harness/report"
)

// runMetrics prints a run as OpenMetrics text, for a node exporter's
// textfile collector or a Pushgateway (`relapse metrics results/latest |
// curl --data-binary @- ...`).
func runMetrics(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("metrics", "DIR", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "takes one run directory (results/<run id> or results/latest), got %d arguments", len(pos))
	}
	run, err := loadRun(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "relapse metrics: %v\n", err)
		return exitUsage
	}
	if _, err := stdout.Write(report.OpenMetrics(run)); err != nil {
		fmt.Fprintf(stderr, "relapse metrics: %v\n", err)
		return exitFail
	}
	return exitOK
}
