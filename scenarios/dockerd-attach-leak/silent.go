package dockerdattachleak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// silentName is the container the loop attaches to; its cleanup addresses
// it by name, so it is removed even when its start was cancelled midway.
const silentName = "silent"

// silentAttach is the attach loop on a running container that never
// prints (the pause image), then a settle.
type silentAttach struct {
	loop   AttachLoopOptions
	settle time.Duration
}

// Start runs the silent container, running since before the baseline so
// only the attaches are measured.
func (s silentAttach) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cli, err := workload.DockerClient(ctx, env.Sandbox)
	if err != nil {
		return nil, err
	}
	env.Defer(func(context.Context) error { return cli.Close() })
	env.Defer(func(ctx context.Context) error { return workload.RemoveDocker(ctx, cli, silentName) })
	c, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: env.Sandbox.Address(), Image: env.Images[pauseImage], Name: silentName, Logf: env.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the silent container: %w", err)
	}
	gc, err := newGCCycles(env.Sandbox.Address())
	if err != nil {
		return nil, err
	}
	loop := s.loop
	loop.Ops, loop.Enough = env.Ops, env.Enough
	a := &attaching{cli: cli, id: c.ID, loop: loop, settle: s.settle, afterGC: (settleWindow + 1) * time.Second, gc: gc,
		pid: env.Sandbox.PID(), socket: env.Sandbox.Address(), dir: env.Dir, mark: env.Mark, logf: env.Logf}
	if err := a.writeCensus(ctx, "fds-before.txt"); err != nil {
		return nil, err
	}
	return a, nil
}

// attaching is one run of the attach loop.
type attaching struct {
	cli    *client.Client
	id     string
	loop   AttachLoopOptions
	settle time.Duration
	// afterGC is how long before the settle's end dockerd is made to
	// collect garbage: longer than the residual's window.
	afterGC time.Duration
	gc      *gcCycles
	pid     int    // dockerd's
	socket  string // dockerd's API, which serves pprof
	dir     string
	mark    func(string)
	logf    func(string, ...any)

	before, loopEnd, beforeGC, after census
}

// Probes: dockerd's garbage collections, next to its own process and
// goroutines (which every dockerd run has): where fds drop without an
// attach ending, the collector closed them.
func (a *attaching) Probes() []probe.Source { return []probe.Source{a.gc} }

// Drive attaches and cuts, then settles so the residual tells the
// connections dockerd keeps from the ones it has not closed yet. Late in
// the settle it makes dockerd collect garbage once: a fixed dockerd
// (28.5.2) leaves closing an ended attach's connection to the collector
// (its fds drop exactly when a collection runs), so without one the
// residual would measure the collector's pace, up to its 2 minute forced
// cycle on an idle daemon, rather than what is kept for good. What a
// collection does not free is a leak. The fd census at the loop's end,
// before and after that collection says what the fds are.
func (a *attaching) Drive(ctx context.Context) error {
	n, err := AttachLoop(ctx, a.cli, a.id, a.loop)
	if err != nil {
		return err
	}
	a.logf("%d attaches to %.12s, each cut after %v", n, a.id, a.loop.Hold)
	if err := a.writeCensus(ctx, "fds-loop-end.txt"); err != nil {
		return err
	}
	a.mark(curve.PhaseSettle)
	if err := wait.Sleep(ctx, a.settle-a.afterGC); err != nil {
		return err
	}
	if err := a.writeCensus(ctx, "fds-before-gc.txt"); err != nil {
		return err
	}
	if err := a.gc.force(ctx); err != nil {
		return err
	}
	if err := wait.Sleep(ctx, a.afterGC); err != nil {
		return err
	}
	return a.writeCensus(ctx, "fds-after.txt")
}

// writeCensus records dockerd's fds by kind and its unix sockets into the
// variant's directory.
func (a *attaching) writeCensus(ctx context.Context, name string) error {
	c, err := takeCensus(ctx, a.pid)
	if err != nil {
		return err
	}
	when := map[string]string{"fds-loop-end.txt": "as the loop ends", "fds-before-gc.txt": "before a forced collection", "fds-after.txt": "after it"}[name]
	switch name {
	case "fds-before.txt":
		a.before = c
	case "fds-loop-end.txt":
		a.loopEnd = c
	case "fds-before-gc.txt":
		a.beforeGC = c
	default:
		a.after = c
	}
	if when != "" {
		a.logf("dockerd unix connections %s: %d with a live peer (%+d), %d whose client is gone (%+d)",
			when, c.peered, c.peered-a.before.peered, c.peerless, c.peerless-a.before.peerless)
	}
	return os.WriteFile(filepath.Join(a.dir, name), []byte(c.String()), 0o644)
}

// Diagnose saves dockerd's goroutines grouped by stack (debug=1), where
// the attaches that stay read at a glance.
func (a *attaching) Diagnose(ctx context.Context, dir string) ([]string, error) {
	path := filepath.Join(dir, "dockerd-goroutines-grouped.txt")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	err = probe.GoroutineSummary(ctx, a.socket, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return []string{path}, nil
}

// Extras: per-attach slopes and residuals from the engine's judgement, and
// the connections dockerd holds whose client is gone (against before the
// loop) as the loop ends, before the forced collection and after it.
func (a *attaching) Extras(_ []curve.Series, evals []curve.Evaluation) map[string]float64 {
	out := map[string]float64{
		"unix_conns_client_gone_at_loop_end": float64(a.loopEnd.peerless - a.before.peerless),
		"unix_conns_client_gone_before_gc":   float64(a.beforeGC.peerless - a.before.peerless),
		"unix_conns_client_gone_added":       float64(a.after.peerless - a.before.peerless),
		"unix_conns_client_alive_added":      float64(a.after.peered - a.before.peered),
	}
	for _, e := range evals {
		if e.Verdict == curve.Inconclusive {
			continue
		}
		switch e.Budget.Kind {
		case curve.Slope:
			out[e.Budget.Metric+"_per_attach"] = e.Measured
		case curve.Residual:
			out["residual_"+e.Budget.Metric] = e.Measured
		}
	}
	return out
}

// The engine finds an attempt's diagnostics and extras by these interfaces.
var (
	_ incident.Diagnoser = (*attaching)(nil)
	_ incident.Reporter  = (*attaching)(nil)
)
