package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/scenarios"
)

// The README's track record lies between these lines; everything between
// them is what `relapse track-record` renders.
const (
	trackBegin = "<!-- track-record:begin (generated: relapse track-record -readme README.md docs/track-record) -->\n"
	trackEnd   = "<!-- track-record:end -->\n"
)

// runTrackRecord renders the track record from a run's summary.json: every
// incident with what happened, where it lives and where it is fixed (its
// data), and per build the verdict and headline number of each variant's
// last run. -readme rewrites the README's table in place.
func runTrackRecord(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("track-record", "DIR [-readme FILE]", stderr)
	readme := fs.String("readme", "", "rewrite the track record between the markers in this file instead of printing it")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "takes one run directory (results/<run id>, or docs/track-record), got %d arguments", len(pos))
	}
	run, err := loadRun(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "relapse track-record: %v\n", err)
		return exitUsage
	}
	table := trackRecord(run)
	if *readme == "" {
		fmt.Fprint(stdout, table)
		return exitOK
	}
	if err := rewriteTrackRecord(*readme, table); err != nil {
		fmt.Fprintf(stderr, "relapse track-record: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "wrote the track record of run %s into %s\n", run.ID, *readme)
	return exitOK
}

// trackRecord renders run's track record for every incident relapse has.
func trackRecord(run results.Run) string {
	var incidents []report.TrackIncident
	for _, in := range scenarios.All() {
		incidents = append(incidents, report.TrackIncident{ID: in.ID, Title: in.Title, Affected: in.Affected, Fixed: in.Fixed})
	}
	return report.TrackRecord(run, incidents)
}

// trackSection returns what lies between the track-record markers of a
// README and where it starts and ends.
func trackSection(readme []byte) (body []byte, start, end int, err error) {
	b := bytes.Index(readme, []byte(trackBegin))
	e := bytes.Index(readme, []byte(trackEnd))
	if b < 0 || e < b {
		return nil, 0, 0, errors.New("no track-record markers: put the lines\n" + trackBegin + trackEnd + "where the table belongs")
	}
	start = b + len(trackBegin)
	return readme[start:e], start, e, nil
}

func rewriteTrackRecord(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, start, end, err := trackSection(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out := append(append(append([]byte{}, old[:start]...), table...), old[end:]...)
	return results.WriteFile(path, out)
}
