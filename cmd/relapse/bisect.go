package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/relapse-dev/relapse/harness/bisect"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/scenarios"
)

const bisectArgs = "ID -variant V -good A -bad B [-runtime containerd|runc|dockerd] [-repo DIR] [-prereleases] [-results DIR] [-run-id ID]"

// bisectRange is what a bisection searches: its candidates in order, how
// each is built, and the plan item that runs the variant on a build.
type bisectRange struct {
	level      string
	candidates []string
	build      bisect.Builder
	item       func(candidate, build string) (engine.Item, error)
}

// runBisect finds the first build between -good and -bad on which a
// variant's verdict differs from the one it gives on -good: where a leak
// appeared or where it was fixed. Every step is narrated and written to
// bisect.json and bisect.html in the run's results directory.
func runBisect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bisect", bisectArgs, stderr)
	variant := fs.String("variant", "", "the variant whose workload and budgets judge every build (its pinned version is replaced by each build)")
	good := fs.String("good", "", "the range's first build, whose verdict the search looks for a change from: a release tag (v2.3.4), or with -repo a commit")
	bad := fs.String("bad", "", "the range's last build, expected to give the other verdict: a release tag, or with -repo a commit")
	kind := fs.String("runtime", "", "the runtime whose builds are bisected: containerd, runc or dockerd (default: the variant's)")
	repo := fs.String("repo", "", "commit level: bisect `git rev-list --first-parent GOOD..BAD` of this local clone, building each commit from it")
	pre := fs.Bool("prereleases", false, "release level: include pre-release tags (rc, beta) between the ends")
	resultsDir := fs.String("results", os.Getenv("RELAPSE_RESULTS"), "results directory (default <repo>/results, or $RELAPSE_RESULTS)")
	runID := fs.String("run-id", os.Getenv("RELAPSE_RUN_ID"), "the run's id and directory name (default a UTC timestamp)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	switch {
	case len(pos) != 1:
		return usageError(fs, stderr, "takes one incident id, got %d", len(pos))
	case *variant == "":
		return usageError(fs, stderr, "-variant is required: the variant whose workload and budgets judge each build (relapse list shows them)")
	case *good == "" || *bad == "":
		return usageError(fs, stderr, "-good and -bad are required: the two builds that bound the search")
	}
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{Incident: pos[0], Variant: *variant})
	if err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitUsage
	}
	base := p.Items[0]
	if err := bisectRuntime(*kind, base); err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := timedLogf(stderr)
	cache, err := runtime.CacheDir()
	if err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitFail
	}
	var rg bisectRange
	if *repo != "" {
		rg, err = commitRange(ctx, base, *repo, *good, *bad, cache, stderr)
	} else {
		rg, err = releaseRange(ctx, base, *good, *bad, *pre, stderr, logf)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitUsage
	}
	steps, err := bisect.NewCache(filepath.Join(cache, "bisect"), base.Incident.ID, base.Variant.Name, base.Variant.Budgets)
	if err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitFail
	}
	eng, err := engine.Open(ctx, engine.Options{Results: *resultsDir, RunID: *runID, Logf: logf})
	if err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitFail
	}
	logf("bisect %s/%s over %d %s builds %s … %s: at most %d judged", base.Incident.ID, base.Variant.Name, len(rg.candidates), base.Runtime,
		bisect.Short(rg.candidates[0]), bisect.Short(rg.candidates[len(rg.candidates)-1]), bisect.MaxJudged(len(rg.candidates)))
	b := bisect.Bisection{
		Report: bisect.Report{Incident: base.Incident.ID, Variant: base.Variant.Name, Runtime: string(base.Runtime), Level: rg.level,
			Good: *good, Bad: *bad, Candidates: rg.candidates},
		Judge: bisect.Stepper{Build: rg.build, Run: engineRunner(eng, rg.item), Cache: steps, Logf: logf}.Judge,
		Write: func(r bisect.Report) error {
			if err := r.Write(eng.Dir()); err != nil {
				return err
			}
			return report.WriteBisect(eng.Dir(), r)
		},
		Logf: logf,
	}
	r, searchErr := b.Run(ctx)
	if err := eng.Close(); err != nil {
		fmt.Fprintf(stderr, "relapse bisect: %v\n", err)
		return exitFail
	}
	printBisect(stdout, r, eng.Dir())
	switch {
	case errors.Is(searchErr, bisect.ErrSameVerdict):
		fmt.Fprintf(stderr, "relapse bisect: %s\n", r.Error)
		return exitFail
	case searchErr != nil:
		fmt.Fprintf(stderr, "relapse bisect: %v\n", searchErr)
		return exitFail
	case r.First == "":
		return exitFail
	}
	return exitOK
}

// bisectRuntime checks -runtime against the runtime the variant runs on.
func bisectRuntime(kind string, it engine.Item) error {
	switch runtime.Kind(kind) {
	case "", it.Runtime:
		return nil
	case "runc":
		return fmt.Errorf("-runtime runc: relapse runs the runc on PATH under containerd or dockerd and builds no runc; bisect the containerd or dockerd builds (-runtime %s)", it.Runtime)
	case runtime.Containerd, runtime.Dockerd:
		return fmt.Errorf("-runtime %s: %s/%s runs on %s; bisect %s builds, or pick a variant that runs on %s", kind, it.Incident.ID, it.Variant.Name, it.Runtime, it.Runtime, kind)
	}
	return fmt.Errorf("-runtime %q: want containerd, runc or dockerd", kind)
}

// engineRunner runs the variant on a build through the engine, in its
// one results directory, and returns the run's variant directory.
func engineRunner(eng *engine.Engine, item func(candidate, build string) (engine.Item, error)) bisect.Runner {
	return func(ctx context.Context, candidate, build string) (results.Result, string, error) {
		it, err := item(candidate, build)
		if err != nil {
			return results.Result{}, "", err
		}
		ctx, cancel := context.WithTimeout(ctx, it.Timeout())
		defer cancel()
		res, err := eng.Run(ctx, it)
		return res, filepath.Join(eng.Dir(), it.Incident.ID, results.VariantDirName(it.Variant.Name, it.Cell)), err
	}
}

// printBisect prints every step and the conclusion.
func printBisect(w io.Writer, r bisect.Report, dir string) {
	for i, s := range r.Steps {
		v := string(s.Verdict)
		if s.Skip != "" {
			v = "skip"
		}
		how := fmt.Sprintf("build %.0fs, runs %.0fs", s.BuildS, s.RunS)
		if s.Cached {
			how = "cached"
		}
		fmt.Fprintf(w, "%d. %-14s %-7s %s [%s] %s\n", i+1, bisect.Short(s.Candidate), v, s.Headline(), how, bisect.ResultLink(dir, s))
	}
	fmt.Fprintln(w, r.Conclusion())
	fmt.Fprintf(w, "wall %.0fs; wrote %s and %s\n", r.WallS, filepath.Join(dir, bisect.HTMLFile), filepath.Join(dir, bisect.JSONFile))
}
