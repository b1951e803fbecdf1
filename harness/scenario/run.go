package scenario

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Defaults for a variant's run.
const (
	defaultInterval = 100 * time.Millisecond
	defaultTimeout  = 2 * time.Minute
	// baselineFor is how long the sampler records before the stimulus starts.
	baselineFor = time.Second
	// watchEvery is how often budgets are judged while the stimulus runs.
	watchEvery = 500 * time.Millisecond
	// cleanupTimeout bounds the cleanups after a variant, also after Ctrl-C.
	cleanupTimeout = 2 * time.Minute
)

// Runner runs scenario variants and hands their results to a report writer.
// One Runner serves a whole suite; it is not safe for concurrent Runs (the
// specs measure one machine and run one at a time).
type Runner struct {
	// Results receives every variant's result and series.
	Results *report.Writer
	// Sandboxes makes the runtime instance a variant runs on.
	Sandboxes SandboxFactory
	// Images builds and loads workload images into a sandbox.
	Images ImageLoader
	// Logf narrates (the suite passes GinkgoWriter's Printf).
	Logf func(format string, args ...any)
	// Diagnostics captures the daemon's state into dir on breach (goroutine
	// dumps, heap, log tail, kernel stacks) and returns the files written.
	Diagnostics func(ctx context.Context, sb runtime.Sandbox, dir string) ([]string, error)
	// Regression runs every variant on the user's runtime configuration
	// (RELAPSE_*_CONFIG) instead of the variant's own knobs.
	Regression bool
}

// SandboxFactory makes a stopped runtime sandbox for a variant.
type SandboxFactory func(kind runtime.Kind, spec SandboxSpec, regression bool, logf func(string, ...any)) (runtime.Sandbox, error)

// ImageLoader makes the named workload images available in a running
// sandbox and returns their references.
type ImageLoader func(ctx context.Context, sb runtime.Sandbox, names []string) (map[string]string, error)

// Run runs one variant end to end: a fresh sandbox, the workload, the
// sampled stimulus with an early-breach watcher, the verdict, diagnostics on
// breach, and cleanup of everything the variant made. The returned result is
// also added to r.Results. An error means the variant could not be run (not
// that it breached); it is recorded in the result too.
func (r *Runner) Run(ctx context.Context, s Scenario, v Variant) (res report.Result, err error) {
	logf := r.logf()
	kind := s.RuntimeOf(v)
	res = report.Result{
		Incident: s.ID, Variant: v.Name, Cell: v.Cell, Runtime: string(kind), Title: s.Title,
		Expect: string(v.Expect), Verdict: string(curve.Inconclusive), Labels: v.Labels,
	}
	var series []curve.Series
	defer func() {
		if err != nil {
			res.Error = err.Error()
			res.OK = false
		}
		addErr := r.Results.Add(res, series)
		switch {
		case addErr != nil && err == nil:
			err = fmt.Errorf("writing results of %s: %w", res.Name(), addErr)
		case addErr == nil:
			if stored, ok := r.Results.Find(res.Name()); ok {
				res = stored // completed by the writer: units, files
			}
		}
	}()

	dir, err := r.Results.VariantDir(s.ID, v.Name, v.Cell)
	if err != nil {
		return res, err
	}
	var cleanups cleanupStack
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := cleanups.run(cctx); cerr != nil {
			logf("cleanup of %s/%s: %v", s.ID, v.Name, cerr)
			if err == nil {
				err = fmt.Errorf("cleanup of %s/%s: %w", s.ID, v.Name, cerr)
			}
		}
	}()

	timeout := v.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	sb, err := r.Sandboxes(kind, v.Sandbox, r.Regression, logf)
	if err != nil {
		return res, fmt.Errorf("%s sandbox for %s/%s: %w", kind, s.ID, v.Name, err)
	}
	cleanups.push(sb.Close)
	logf("starting %s (%s) under %s", kind, sb.Binary(), sb.Root())
	if err := sb.Start(ctx); err != nil {
		return res, fmt.Errorf("starting %s for %s/%s: %w", kind, s.ID, v.Name, err)
	}
	res.Version, res.Binary = sb.Version(), sb.Binary()
	if c, ok := sb.(interface{ Settings() map[string]any }); ok {
		res.Config = c.Settings()
	}

	images, err := r.Images(ctx, sb, s.Images)
	if err != nil {
		return res, fmt.Errorf("loading images %v into %s: %w", s.Images, kind, err)
	}

	ops := &probe.Ops{}
	var sampler *probe.Sampler
	env := &Env{
		Sandbox: sb, Ops: ops, Images: images, Dir: dir, Logf: logf,
		Mark:  func(name string) { sampler.Mark(name) },
		Defer: cleanups.push,
	}
	if v.Setup != nil {
		if err := v.Setup(ctx, env); err != nil {
			return res, fmt.Errorf("setup of %s/%s: %w", s.ID, v.Name, err)
		}
	}

	sources, err := daemonSources(sb)
	if err != nil {
		return res, err
	}
	if v.Probes != nil {
		sources = append(sources, v.Probes(env)...)
	}
	interval := v.Interval
	if interval == 0 {
		interval = defaultInterval
	}
	sampler = probe.NewSampler(interval, ops, logf, sources...)
	sampler.Start(ctx)
	defer sampler.Stop()

	if err := sleep(ctx, baselineFor); err != nil {
		return res, err
	}
	sampler.Mark(curve.PhaseStimulus)
	start := time.Now()
	w := watch(ctx, v.Budgets, sampler, start, !v.RunToEnd)
	stimErr := v.Stimulus(w.ctx, env)
	early := w.stop()
	sampler.Stop()
	series = sampler.Series()

	if stimErr != nil && !(early.breach && errors.Is(stimErr, context.Canceled)) {
		return res, fmt.Errorf("stimulus of %s/%s: %w", s.ID, v.Name, stimErr)
	}

	evals := curve.EvaluateAll(v.Budgets, series, true)
	verdict := curve.Combine(evals)
	res.Verdict = string(verdict)
	res.OK = verdict == v.Expect
	res.Evaluations = evals
	res.DurationS = time.Since(start).Seconds()
	res.VerdictAfterS = res.DurationS
	if early.breach {
		res.StoppedEarly = true
		res.VerdictAfterS = early.after.Seconds()
	}
	g := sb.Guard()
	res.Guard = &g
	res.SetPrimary(evals, series)
	if v.Extras != nil {
		res.Extras = v.Extras(series)
	}
	logf("%s/%s on %s %s: %s (expected %s) after %.1fs", s.ID, v.Name, kind, res.Version, verdict, v.Expect, res.VerdictAfterS)
	for _, e := range evals {
		logf("  %-12s %s: %s", e.Verdict, e.Budget, e.Detail)
	}

	if verdict == curve.Breach || !res.OK {
		res.Diagnostics = r.diagnose(ctx, sb, v, env, filepath.Join(dir, "diagnostics"))
	}
	return res, nil
}

// daemonSources are the probes every variant gets: the daemon's own process
// and, for dockerd, the containerd it manages.
func daemonSources(sb runtime.Sandbox) ([]probe.Source, error) {
	p, err := probe.NewProcess(string(sb.Kind()), sb.PID)
	if err != nil {
		return nil, err
	}
	sources := []probe.Source{p}
	if d, ok := sb.(interface{ ContainerdPID() int }); ok {
		c, err := probe.NewProcess("containerd", d.ContainerdPID)
		if err != nil {
			return nil, err
		}
		sources = append(sources, c)
	}
	if sb.Kind() == runtime.Dockerd {
		// dockerd --debug serves pprof on its API socket.
		g, err := probe.NewGoroutines("dockerd", sb.Address())
		if err != nil {
			return nil, err
		}
		sources = append(sources, g)
	}
	return sources, nil
}

// diagnose captures what an engineer needs to explain a breach; failures to
// capture one piece are written down, not fatal.
func (r *Runner) diagnose(ctx context.Context, sb runtime.Sandbox, v Variant, env *Env, dir string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.logf()("diagnostics: %v", err)
		return nil
	}
	var files []string
	if r.Diagnostics != nil {
		f, err := r.Diagnostics(ctx, sb, dir)
		if err != nil {
			r.logf()("diagnostics of %s: %v", sb.Kind(), err)
		}
		files = f
	}
	if v.Diagnose != nil {
		more, err := v.Diagnose(ctx, env, dir)
		if err != nil {
			r.logf()("diagnostics of variant %s: %v", v.Name, err)
		}
		files = append(files, more...)
	}
	rel := make([]string, 0, len(files))
	for _, f := range files {
		if p, err := filepath.Rel(r.Results.Dir(), f); err == nil {
			rel = append(rel, p)
		} else {
			rel = append(rel, f)
		}
	}
	return rel
}

func (r *Runner) logf() func(string, ...any) {
	if r.Logf != nil {
		return r.Logf
	}
	return func(string, ...any) {}
}

// watcher judges budgets while the stimulus runs and cancels it once a
// breach is certain.
type watcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	result earlyVerdict
}

type earlyVerdict struct {
	breach bool
	after  time.Duration
}

func watch(ctx context.Context, budgets []curve.Budget, s *probe.Sampler, start time.Time, early bool) *watcher {
	w := &watcher{done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(ctx)
	if !early {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(watchEvery)
		defer t.Stop()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
			if curve.BreachCertain(curve.EvaluateAll(budgets, s.Series(), false)) {
				w.mu.Lock()
				w.result = earlyVerdict{breach: true, after: time.Since(start)}
				w.mu.Unlock()
				w.cancel()
				return
			}
		}
	}()
	return w
}

func (w *watcher) stop() earlyVerdict {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
