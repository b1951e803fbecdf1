package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/calibrate"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// runCalibrate measures the verdict rules on series of known truth: the
// synthetic noises and the real hold series of the run directories given,
// replayed through the watcher's looks at several leak sizes. It writes
// calibration.md, calibration.json, power.svg and time.svg to -out and
// prints the tables.
func runCalibrate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("calibrate", "[-replays N] [-rules v1,v2,v3] [-multiples 0,0.5,1,2,4] [-noises all|none|NAME,...] [-out DIR] [-workers N] [RUN_DIR...] | -live N [-jobs K] [-live-from DIR,...] [-rules v1,v2,v3] [-multiples ...] [-out DIR]", stderr)
	replays := fs.Int("replays", 1000, "replays per synthetic noise and leak size")
	rulesList := fs.String("rules", "v1,v2,v3", "the verdict rules to measure, comma-separated (runs default to "+string(curve.DefaultRules)+"); with -live the first one judges the live runs as they go")
	multiplesList := fs.String("multiples", "0,0.5,1,2,4", "true slopes to replay, as multiples of the budget, comma-separated")
	out := fs.String("out", "", "directory for the report (default <results>/calibration-<UTC time>)")
	workers := fs.Int("workers", 1, "replays run in parallel (the machine's other work permitting)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic noise: the same seed replays the same runs")
	noises := fs.String("noises", "all", "synthetic noises to replay, comma-separated, or all, or none (only the real series)")
	liveRuns := fs.Int("live", 0, "live calibration instead of replays: run the leaker N times per leak size (-multiples) on private dockerds, then re-judge every run under each rule set")
	jobs := fs.Int("jobs", 1, "live calibration: relapse processes running the live runs at once, each on its own private dockerd")
	liveChild := fs.String("live-child", "", "(set by -jobs) record this process' live runs under this run id, leave the report to the parent")
	liveFrom := fs.String("live-from", "", "live calibration: also tally (or only tally, with -live 0) the leaker runs recorded in these results directories, comma-separated")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	cfg := calibrate.Config{Replays: *replays, Seed: *seed, Workers: *workers}
	if cfg.Noises, err = pickNoises(*noises); err != nil {
		return usageError(fs, stderr, "-noises: %v", err)
	}
	for _, r := range strings.Split(*rulesList, ",") {
		rules, err := curve.ParseRules(r)
		if err != nil {
			return usageError(fs, stderr, "-rules: %v", err)
		}
		cfg.Rules = append(cfg.Rules, rules)
	}
	for _, m := range strings.Split(*multiplesList, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(m), 64)
		if err != nil || v < 0 {
			return usageError(fs, stderr, "-multiples: %q is not a non-negative number (want e.g. 0,0.5,1,2,4)", m)
		}
		cfg.Multiples = append(cfg.Multiples, v)
	}
	if *liveRuns != 0 || *liveFrom != "" {
		if len(pos) > 0 {
			return usageError(fs, stderr, "-live takes no run directories to replay (give them to -live-from, or calibrate replays and live runs apart)")
		}
		return runLiveCalibration(liveOptions{runs: *liveRuns, from: splitList(*liveFrom), rules: cfg.Rules, multiples: cfg.Multiples, out: *out,
			jobs: *jobs, childID: *liveChild}, stdout, stderr)
	}
	if *replays < 1 {
		return usageError(fs, stderr, "-replays must be at least 1, got %d", *replays)
	}
	if len(cfg.Noises) == 0 && len(pos) == 0 {
		return usageError(fs, stderr, "-noises none leaves nothing to replay: name run directories whose real hold series to replay")
	}
	for _, dir := range pos {
		if _, err := loadRun(dir); err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
			return exitUsage
		}
		reals, err := calibrate.LoadReal(dir, func(incident, variant string) bool {
			toEnd, known := runsToEnd(incident, variant)
			return toEnd || !known
		})
		if err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "%s: %d real hold series\n", dir, len(reals))
		cfg.Real = append(cfg.Real, reals...)
	}
	dir := *out
	if dir == "" {
		dir = defaultCalibrationDir()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cells, err := calibrate.Run(ctx, cfg, func(c calibrate.Cell) {
		br := c.BreachRate()
		fmt.Fprintf(stderr, "%6.0fs  %s %-9s %4gx  breach %d/%d (%.1f%%), hold %d, inconclusive %d\n",
			time.Since(start).Seconds(), c.Rules, c.Source, c.Multiple, br.K, br.N, 100*br.P, c.Hold, c.Inconclusive())
	})
	if err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
		return exitFail
	}
	rep := calibrate.Report{Method: calibrate.Method, Sources: calibrate.Sources(), Cells: cells}
	for _, r := range cfg.Real {
		rep.Real = append(rep.Real, r.Name)
	}
	if err := writeCalibration(dir, rep); err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: %v\n", err)
		return exitFail
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stderr, "calibration: %s (%.0fs)\n", dir, time.Since(start).Seconds())
	return exitOK
}

// writeCalibration writes the report's files into dir.
func writeCalibration(dir string, rep calibrate.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("calibration report: %w", err)
	}
	if err := results.WriteJSON(filepath.Join(dir, "calibration.json"), rep); err != nil {
		return err
	}
	files := map[string]string{"calibration.md": rep.Markdown()}
	if len(rep.Cells) > 0 {
		files["power.svg"], files["time.svg"] = rep.PowerSVG(), rep.TimeSVG()
	}
	if rep.Live != nil {
		files["live.md"] = "# Verdict calibration on live runs\n\n" + strings.TrimPrefix(rep.Live.Markdown(), "## Live runs\n\n")
	}
	for name, text := range files {
		if err := results.WriteFile(filepath.Join(dir, name), []byte(text)); err != nil {
			return fmt.Errorf("calibration report %s: %w", name, err)
		}
	}
	return nil
}

// pickNoises selects synthetic noises by name: "all", "none" or a list.
func pickNoises(list string) ([]calibrate.Noise, error) {
	all := calibrate.Noises()
	switch strings.TrimSpace(list) {
	case "all", "":
		return all, nil
	case "none":
		return nil, nil
	}
	var out []calibrate.Noise
	var names []string
	for _, n := range all {
		names = append(names, n.Name)
	}
	for _, want := range strings.Split(list, ",") {
		want = strings.TrimSpace(want)
		i := slices.IndexFunc(all, func(n calibrate.Noise) bool { return n.Name == want })
		if i < 0 {
			return nil, fmt.Errorf("no noise %q: want all, none or some of %s", want, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// resultsBase is $RELAPSE_RESULTS, else results/ (of the working directory).
func resultsBase() string {
	if base := os.Getenv("RELAPSE_RESULTS"); base != "" {
		return base
	}
	return "results"
}

// defaultCalibrationDir is where a report goes without -out.
func defaultCalibrationDir() string {
	return filepath.Join(resultsBase(), "calibration-"+time.Now().UTC().Format("20060102T150405Z"))
}
