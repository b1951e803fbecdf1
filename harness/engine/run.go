package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/wait"
)

// Defaults for a variant's run.
const (
	defaultInterval = 100 * time.Millisecond
	defaultTimeout  = 2 * time.Minute
	// baselineFor is how long the sampler records before the drive starts.
	baselineFor = time.Second
	// setupPerScale and minSetup bound a sandbox's start and its image
	// loads, before the variant's own timeout starts: a minute per unit of
	// time scale, at least 6 minutes (the 200 MB PHP image takes 2-5 minutes
	// to load into dockerd in a TCG guest; a stop and start of a container
	// about 10 s there, against a second on the host).
	setupPerScale = time.Minute
	minSetup      = 6 * time.Minute
	// cleanupTimeout bounds the cleanups after a variant, also after Ctrl-C.
	cleanupTimeout = 2 * time.Minute
	// diagnoseTimeout bounds the diagnostics after a breach or a failure.
	diagnoseTimeout = time.Minute
)

// Recorder stores what a run found (results.Store is the real one).
type Recorder interface {
	Dir() string
	VariantDir(incident, variant, cell string) (string, error)
	Add(r results.Result, series []curve.Series) error
}

// Diagnostics captures a sandbox's state into dir (goroutine dumps, heap,
// log tail, kernel stacks) and returns the files written.
type Diagnostics func(ctx context.Context, sb runtime.Sandbox, dir string) ([]string, error)

// Timeout is how long an item may take as a whole: its own timeout plus
// room for the sandbox's start, image builds, diagnostics and cleanup.
// A RELAPSE_TIME_SCALE stretches the variant's part (Run reports a bad one).
func (it Item) Timeout() time.Duration {
	scale, _ := incident.TimeScale()
	return it.TimeoutAt(scale)
}

// TimeoutAt is Timeout on a machine scale times slower (a guest's time
// scale, which is not this process' RELAPSE_TIME_SCALE).
func (it Item) TimeoutAt(scale float64) time.Duration {
	return incident.Scale(cmpDuration(it.Variant.Timeout, defaultTimeout), scale) + setupTimeout(scale) + time.Minute
}

// setupTimeout bounds a sandbox's start and image loads on a machine scale
// times slower than the one the cases were measured on.
func setupTimeout(scale float64) time.Duration {
	return max(incident.Scale(setupPerScale, scale), minSetup)
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Run runs one plan item end to end: a fresh sandbox, the workload, the
// sampled drive with an early-verdict watcher, one judgement, diagnostics on
// a breach or a failure, one record, and the cleanup of everything the item
// made. An error means the item could not be run to a verdict (not that it
// breached); it is recorded in the result too.
func (e *Engine) Run(ctx context.Context, it Item) (res results.Result, err error) {
	logf := e.logf
	began := time.Now()
	res = results.Result{
		Incident: it.Incident.ID, Variant: it.Variant.Name, Cell: it.Cell, Runtime: string(it.Runtime),
		Title: it.Incident.Title, Expect: string(it.Expect), Verdict: string(curve.Inconclusive), Labels: it.Variant.Labels,
		Started: began.UTC(),
	}
	var series []curve.Series
	defer func() {
		if err != nil {
			res.Error = err.Error()
			res.OK = false
		}
		// This defer runs last, after the cleanups: they count too.
		res.WallS = time.Since(began).Seconds()
		if addErr := e.store.Add(res, series); addErr != nil && err == nil {
			err = fmt.Errorf("recording %s: %w", it.Name(), addErr)
		}
	}()

	dir, err := e.store.VariantDir(it.Incident.ID, it.Variant.Name, it.Cell)
	if err != nil {
		return res, err
	}
	scale, err := incident.TimeScale()
	if err != nil {
		return res, err
	}
	if err := checkKernel(it); err != nil {
		return res, err
	}
	var cleanups cleanupStack
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := cleanups.run(cctx); cerr != nil {
			logf("cleanup of %s: %v", it.Name(), cerr)
			if err == nil {
				err = fmt.Errorf("cleanup of %s: %w", it.Name(), cerr)
			}
		}
	}()

	// The sandbox's start and the image loads have their own bound, so a
	// slow machine (a TCG guest loads a 200 MB image for minutes) does not
	// eat the variant's own timeout, which bounds the workload and drive.
	// The daemons outlive setupCtx: they are not started under it.
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout(scale))
	defer cancelSetup()

	sb, err := e.sandboxes(it, logf)
	if err != nil {
		return res, fmt.Errorf("%s sandbox for %s: %w", it.Runtime, it.Name(), err)
	}
	cleanups.push(sb.Close)
	logf("starting %s (%s) under %s", it.Runtime, sb.Binary(), sb.Root())
	if err := sb.Start(setupCtx); err != nil {
		return res, fmt.Errorf("starting %s for %s: %w", it.Runtime, it.Name(), err)
	}
	res.Version, res.Binary = sb.Version(), sb.Binary()
	if c, ok := sb.(interface {
		Components(context.Context) map[string]runtime.Component
	}); ok {
		res.Components = c.Components(ctx)
	}
	if expect, why, ok := expectOnFoundBuild(it, res.Version); ok {
		res.Expect = string(expect)
		logf("%s: expected to %s on %s %s: %s", it.Name(), expect, it.Runtime, res.Version, why)
	}
	if c, ok := sb.(interface{ Settings() map[string]any }); ok {
		res.Config = c.Settings()
	}

	images, err := e.images(setupCtx, sb, it.Incident.Images)
	if err != nil {
		return res, fmt.Errorf("loading images into %s: %w", it.Runtime, err)
	}
	cancelSetup()

	ctx, cancel := context.WithTimeout(ctx, incident.Scale(cmpDuration(it.Variant.Timeout, defaultTimeout), scale))
	defer cancel()

	ops := &probe.Ops{}
	var sampler *probe.Sampler
	enough := make(chan struct{})
	env := &incident.Env{
		Sandbox: sb, Ops: ops, Images: images, Dir: dir, Logf: logf,
		Mark:   func(name string) { sampler.Mark(name) },
		Enough: enough,
		Defer:  cleanups.push, TimeScale: scale,
	}
	logf("%s: starting the workload (%s)", it.Name(), it.Why)
	attempt, err := it.Variant.Case.Start(ctx, env)
	if err != nil {
		res.Diagnostics = e.diagnose(ctx, sb, nil, dir)
		return res, fmt.Errorf("starting %s: %w", it.Name(), err)
	}

	sources, err := SandboxSources(sb, it.Variant.Budgets)
	if err != nil {
		return res, err
	}
	sources = append(sources, attempt.Probes()...)
	// Closed after the sampler has stopped and the diagnostics (which may
	// read a source once more) are taken: defers run last first.
	defer func() {
		if err := probe.CloseSources(sources); err != nil {
			logf("closing the probes: %v", err)
		}
	}()
	sampler = probe.NewSampler(cmpDuration(it.Variant.Interval, defaultInterval), ops, logf, sources...)
	sampler.Start(ctx)
	defer sampler.Stop()

	if err := wait.Sleep(ctx, baselineFor); err != nil {
		return res, fmt.Errorf("baseline of %s: %w", it.Name(), err)
	}
	sampler.Mark(curve.PhaseStimulus)
	start := time.Now()
	w := watch(ctx, e.rules, it.Variant.Budgets, sampler, ops, start, !it.Variant.RunToEnd, enough, logf)
	driveErr := attempt.Drive(w.ctx)
	early := w.stop()
	sampler.Stop()
	series = sampler.Series()

	switch {
	case driveErr == nil:
	case early.stopped:
		// The watcher cancelled the drive. However the workload's client
		// wrapped that cancellation (a gRPC status, a url.Error, a plain
		// context error), it is the early verdict, not a failure to run.
		logf("%s: drive ended by the early %s (%v)", it.Name(), early.verdict, driveErr)
	default:
		res.Diagnostics = e.diagnose(ctx, sb, attempt, dir)
		return res, fmt.Errorf("drive of %s: %w", it.Name(), driveErr)
	}

	cut := judge.Cut{Slopes: early.enoughSawTo}
	if early.stopped {
		cut.Stop = early.sawTo
	}
	j := judge.Final(e.rules, it.Variant.Budgets, series, cut)
	judge.Fill(&res, j, series)
	if e.rules != curve.RulesV1 {
		res.Rules = string(e.rules)
		res.JudgedToS, res.SlopesJudgedToS = cut.Stop, cut.Slopes
	}
	res.DurationS = time.Since(start).Seconds()
	res.VerdictAfterS = res.DurationS
	res.EnoughAfterS = early.enoughAfter.Seconds()
	if early.stopped {
		res.StoppedEarly = true
		res.VerdictAfterS = early.after.Seconds()
	}
	g := sb.Guard()
	res.Guard = &g
	if r, ok := attempt.(incident.Reporter); ok {
		res.Extras = r.Extras(series, j.Evaluations)
	}
	res.Units = unitsOf(series)
	logf("%s on %s %s: %s (expected %s) after %.1fs", it.Name(), it.Runtime, res.Version, j.Verdict, res.Expect, res.VerdictAfterS)
	for _, line := range res.Judgements() {
		logf("  %s", line)
	}
	if j.Verdict == curve.Breach || !res.OK {
		res.Diagnostics = e.diagnose(ctx, sb, attempt, dir)
	}
	return res, nil
}

// diagnose captures what an engineer needs to explain a breach or a
// failure: the sandbox's state and the attempt's own evidence. A piece
// that cannot be captured is logged, never fatal.
func (e *Engine) diagnose(ctx context.Context, sb runtime.Sandbox, attempt incident.Attempt, variantDir string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagnoseTimeout)
	defer cancel()
	dir := filepath.Join(variantDir, "diagnostics")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.logf("diagnostics: %v", err)
		return nil
	}
	var files []string
	if e.diagnostics != nil {
		f, err := e.diagnostics(ctx, sb, dir)
		if err != nil {
			e.logf("diagnostics of %s: %v", sb.Kind(), err)
		}
		files = f
	}
	if d, ok := attempt.(incident.Diagnoser); ok {
		more, err := d.Diagnose(ctx, dir)
		if err != nil && !errors.Is(err, context.Canceled) {
			e.logf("diagnostics of the workload: %v", err)
		}
		files = append(files, more...)
	}
	return files
}

// expectOnFoundBuild is the verdict an item must give on the build its
// sandbox turned out to run, when only that build says: a variant with
// Affected ranges run on the binary from PATH or RELAPSE_CONTAINERD/DOCKERD
// (a matrix cell or a pinned version was decided by the plan; a regression
// run must hold whatever the build).
func expectOnFoundBuild(it Item, version string) (curve.Verdict, string, bool) {
	if it.Cell != "" || it.UserConfig != "" || it.Variant.Sandbox.Version != "" || len(it.Variant.Affected) == 0 || version == "" {
		return "", "", false
	}
	expect, why := it.Variant.ExpectOn(version)
	return expect, why, expect != it.Expect
}
