package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// runRun runs a plan end to end, the same way the Ginkgo suites do (one
// engine, one results directory), narrating every phase: runtime builds,
// image builds, the sandbox, the drive with its live slope, the verdict.
// Ctrl-C stops the current variant and still cleans up everything it made.
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[ID...] [-variant V] [-label L] [-runtimes CELLS] [-jobs N] [-containerd-config F] [-dockerd-config F] [-results DIR] [-run-id ID] [-rules v1|v2|v3]", stderr)
	sel := selectionFlags(fs)
	resultsDir := fs.String("results", os.Getenv("RELAPSE_RESULTS"), "results directory (default <repo>/results, or $RELAPSE_RESULTS)")
	runID := fs.String("run-id", os.Getenv("RELAPSE_RUN_ID"), "the run's id and directory name (default a UTC timestamp)")
	jobs := fs.Int("jobs", 0, "runs at once, each in its own relapse process and sandbox (default $RELAPSE_JOBS, else 1); the incidents that need the machine to themselves run after the others, alone")
	child := fs.String("run-child", "", "(set by -jobs) run the items named on stdin, recording them in this directory")
	rulesFlag := fs.String("rules", os.Getenv("RELAPSE_RULES"), "verdict rules: v1 (Sen's interval, point estimate), v2 (calibrated, sequential, three-way) or v3 (v2 with block means in seconds; docs/calibration: 1.3% false breaches on rotated real holds, v1 32.9%); default $RELAPSE_RULES, else "+string(curve.DefaultRules))
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	rules, err := curve.ParseRules(*rulesFlag)
	if err != nil {
		return usageError(fs, stderr, "-rules: %v", err)
	}
	p, err := sel.plan(pos)
	if err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitUsage
	}
	if *jobs, err = runJobsFlag(*jobs, os.Getenv("RELAPSE_JOBS")); err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := timedLogf(stderr)
	if *child != "" {
		return runChild(ctx, p, *child, engine.Options{Logf: logf, Rules: rules}, os.Stdin, stdout, logf)
	}
	for _, n := range p.NotJudged {
		logf("not judged: %s", n)
	}
	if err := ensureBuilds(ctx, p.Builds(), stderr, logf); err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitFail
	}
	host, err := results.HostInfo()
	if err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitFail
	}
	// Cells on a kernel this machine does not run go to guests first.
	items, guests := splitByKernel(p.Items, host)
	code := exitOK
	if len(guests) > 0 && !runGuests(ctx, guests, sel, pos, *resultsDir, *runID, stderr, logf) {
		code = exitFail
	}
	if len(items) == 0 {
		return code
	}
	if *jobs > 1 && len(items) > 1 {
		run, dir, err := runJobs(ctx, items, *jobs, args, *resultsDir, *runID, stderr, logf)
		if err != nil {
			fmt.Fprintf(stderr, "relapse run: %v\n", err)
			return exitFail
		}
		if !explainJobs(stdout, items, run, dir) {
			code = exitFail
		}
		fmt.Fprint(stdout, report.Table(run))
		fmt.Fprintf(stdout, "results: %s\n", dir)
		return code
	}
	eng, err := engine.Open(ctx, engine.Options{Results: *resultsDir, RunID: *runID, Logf: logf, Rules: rules})
	if err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitFail
	}
	for i, it := range items {
		if ctx.Err() != nil {
			logf("interrupted: %d of %d runs not started", len(items)-i, len(items))
			code = exitFail
			break
		}
		if res, ok := runItem(ctx, eng, it, i+1, len(items), logf); !ok {
			code = exitFail
			explainItem(stdout, it, res, eng.Dir())
		}
	}
	if err := eng.Close(); err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitFail
	}
	run, err := results.Load(eng.Dir())
	if err != nil {
		fmt.Fprintf(stderr, "relapse run: %v\n", err)
		return exitFail
	}
	fmt.Fprint(stdout, report.Table(run))
	fmt.Fprintf(stdout, "results: %s\n", eng.Dir())
	return code
}

// explainItem prints why an item that did not give its expected verdict
// failed: the regression report for a user's configuration, else what
// each budget measured.
func explainItem(w io.Writer, it engine.Item, res results.Result, runDir string) {
	if it.UserConfig != "" {
		fmt.Fprintln(w, report.RegressionFailure(res, runDir))
		return
	}
	fmt.Fprintf(w, "%s on %s %s: %s\n", it.Name(), res.Runtime, res.Version, report.Explain(res))
}

// runItem runs one item, again up to its Attempts when it misses its
// verdict, and returns its last result and whether it ended ok.
func runItem(ctx context.Context, eng *engine.Engine, it engine.Item, n, of int, logf func(string, ...any)) (res results.Result, ok bool) {
	attempts := max(it.Variant.Attempts, 1)
	start := time.Now()
	defer func() { logf("[%d/%d] %s: done in %s", n, of, it.Name(), time.Since(start).Round(time.Second)) }()
	for a := 1; a <= attempts; a++ {
		logf("[%d/%d] %s: must %s (%s)", n, of, it.Name(), it.Expect, it.Why)
		ictx, cancel := context.WithTimeout(ctx, it.Timeout())
		var err error
		res, err = eng.Run(ictx, it)
		cancel()
		switch {
		case err != nil:
			logf("[%d/%d] %s could not run to a verdict: %v", n, of, it.Name(), err)
		case res.OK:
			if a > 1 {
				logf("[%d/%d] %s ok on attempt %d of %d (flaky)", n, of, it.Name(), a, attempts)
			}
			return res, true
		default:
			logf("[%d/%d] %s: verdict %s, expected %s", n, of, it.Name(), res.Verdict, it.Expect)
		}
		if ctx.Err() != nil {
			return res, false
		}
	}
	return res, false
}

// ensureBuilds fetches or builds the runtime builds the plan needs and the
// cache lacks, with scripts/runtimes.sh (its progress goes to stderr).
func ensureBuilds(ctx context.Context, builds []string, stderr io.Writer, logf func(string, ...any)) error {
	var missing []string
	for _, b := range builds {
		if _, err := runtime.ResolveEntry(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		return err
	}
	script := filepath.Join(root, "scripts", "runtimes.sh")
	logf("runtime builds missing from the cache: %s; fetching or building them (bash %s %s)", strings.Join(missing, " "), script, strings.Join(missing, " "))
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, missing...)...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w (run `bash scripts/runtimes.sh %s` to see why)", strings.Join(missing, " "), err, strings.Join(missing, " "))
	}
	logf("runtime builds ready in %s", time.Since(start).Round(time.Second))
	return nil
}

// runJobsFlag is -jobs as given, else $RELAPSE_JOBS, else 1.
func runJobsFlag(flagged int, env string) (int, error) {
	switch {
	case flagged > 0:
		return flagged, nil
	case flagged < 0:
		return 0, fmt.Errorf("-jobs %d: give the number of runs at once, 1 or more", flagged)
	case env == "":
		return 1, nil
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("RELAPSE_JOBS=%q: give the number of runs at once, 1 or more", env)
	}
	return n, nil
}
