package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/calibrate"
	"github.com/relapse-dev/relapse/harness/calibrate/live"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
)

// liveOptions are a live calibration's: how many runs per leak size,
// earlier runs to tally with them, the rule sets, the leak sizes and the
// report's directory.
type liveOptions struct {
	runs      int
	from      []string
	rules     []curve.Rules
	multiples []float64
	out       string
	// jobs is how many relapse processes run the live runs at once.
	jobs int
	// childID, set by a parent's -jobs, records this process' runs under
	// that run id and leaves the tally and the report to the parent.
	childID string
}

// liveResults is where live runs are recorded, below the results
// directory: a run directory of their own keeps results/latest (what make
// calibrate replays as real noise, what make test tables) on the
// incidents' runs.
const liveResults = "calibration-live"

// runLiveCalibration runs the leaker opts.runs times per leak size through
// the engine (one run directory, results/calibration-live/<run>), tallies
// those runs and the ones in opts.from under every rule set, and writes
// the report's live section: into the report already in opts.out (the
// replays' tables are kept) or a new one, and alone as live.md.
func runLiveCalibration(opts liveOptions, stdout, stderr io.Writer) int {
	if opts.runs < 0 {
		fmt.Fprintf(stderr, "relapse calibrate: -live %d: want a number of runs per leak size\n", opts.runs)
		return exitUsage
	}
	switch {
	case opts.jobs < 1:
		fmt.Fprintf(stderr, "relapse calibrate: -jobs %d: want at least 1 process\n", opts.jobs)
		return exitUsage
	case opts.jobs > 1 && opts.runs == 0:
		fmt.Fprintf(stderr, "relapse calibrate: -jobs %d: no live runs to share; give -live N\n", opts.jobs)
		return exitUsage
	}
	for _, dir := range opts.from {
		if _, err := loadRun(dir); err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: -live-from: %v\n", err)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := timedLogf(stderr)
	dirs := opts.from
	start := time.Now()
	code := exitOK
	if opts.runs > 0 {
		p, err := live.Plan(opts.multiples, opts.runs)
		if err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
			return exitUsage
		}
		if shares := liveShares(opts.runs, opts.jobs); len(shares) > 1 {
			recorded, ok := runLiveJobs(ctx, opts, shares, stderr)
			if len(recorded) == 0 {
				return exitFail
			}
			if !ok {
				code = exitFail
			}
			dirs = append(dirs, recorded...)
		} else {
			if opts.childID != "" {
				childIgnoresBrokenPipe()
			}
			dir, ok := runLivePlan(ctx, p, opts.rules[0], opts.childID, logf)
			if dir == "" {
				return exitFail
			}
			if !ok {
				code = exitFail
			}
			if opts.childID != "" {
				return code
			}
			dirs = append(dirs, dir)
		}
	}
	l, err := live.Tally(dirs, opts.rules)
	if err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
		return exitFail
	}
	if opts.runs > 0 && len(opts.from) == 0 {
		l.WallS = time.Since(start).Seconds()
	}
	out := opts.out
	if out == "" {
		out = defaultCalibrationDir()
	}
	rep, err := existingReport(out)
	if err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
		return exitFail
	}
	rep.Live = &l
	if err := writeCalibration(out, rep); err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
		return exitFail
	}
	fmt.Fprint(stdout, l.Markdown())
	fmt.Fprintf(stderr, "calibration: %s (live section; %.0fs)\n", out, time.Since(start).Seconds())
	return code
}

// runLivePlan runs every item of p on one engine (its run id: runID, or a
// UTC timestamp when empty) and returns its results directory ("" when
// none could be opened) and whether every item ran to a verdict. A wrong
// verdict is what the calibration measures, not a failure.
func runLivePlan(ctx context.Context, p engine.Plan, rules curve.Rules, runID string, logf func(string, ...any)) (string, bool) {
	eng, err := engine.Open(ctx, engine.Options{Results: filepath.Join(resultsBase(), liveResults), RunID: runID, Logf: logf, Rules: rules})
	if err != nil {
		logf("relapse calibrate: %v", err)
		return "", false
	}
	ok := true
	for i, it := range p.Items {
		if ctx.Err() != nil {
			logf("interrupted: %d of %d runs not started", len(p.Items)-i, len(p.Items))
			ok = false
			break
		}
		begin := time.Now()
		ictx, cancel := context.WithTimeout(ctx, it.Timeout())
		res, err := eng.Run(ictx, it)
		cancel()
		if err != nil {
			logf("[%d/%d] %s could not run to a verdict: %v", i+1, len(p.Items), it.Name(), err)
			ok = false
			continue
		}
		logf("[%d/%d] %s: %s (a %s is right) in %s", i+1, len(p.Items), it.Name(), res.Verdict, it.Expect, time.Since(begin).Round(time.Second))
	}
	if err := eng.Close(); err != nil {
		logf("relapse calibrate: %v", err)
		ok = false
	}
	return eng.Dir(), ok
}

// existingReport is the report already in dir (the replays' tables), or
// an empty one.
func existingReport(dir string) (calibrate.Report, error) {
	path := filepath.Join(dir, "calibration.json")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return calibrate.Report{}, nil
	}
	return readReport(path)
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// readReport reads a calibration.json.
func readReport(path string) (calibrate.Report, error) {
	var rep calibrate.Report
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, fmt.Errorf("calibration report: %w", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("calibration report %s: %w", path, err)
	}
	return rep, nil
}
