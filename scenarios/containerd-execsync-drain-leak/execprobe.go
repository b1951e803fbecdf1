package containerdexecsyncdrainleak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// execProbe is one pod whose container is exec-probed by a kubelet-shaped
// loop whose command leaves a background child holding the exec's stdout
// and stderr.
type execProbe struct {
	loop   ProbeLoopOptions
	settle time.Duration
}

// Start runs the pod and its idle container, and finds the pod's shim.
func (p execProbe) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cri, err := workload.DialCRI(ctx, env.Sandbox.Address())
	if err != nil {
		return nil, err
	}
	env.Defer(func(context.Context) error { return cri.Close() })

	pod, err := cri.RunPod(ctx, "execprobe", filepath.Join(env.Sandbox.Root(), "pod-logs"))
	if err != nil {
		return nil, err
	}
	// Removing the pod kills the container's PID namespace, and with it
	// every background child the probes left: what releases the leak.
	env.Defer(func(ctx context.Context) error { return cri.RemovePod(ctx, pod) })

	id, err := cri.RunContainer(ctx, pod, workload.ContainerSpec{Name: "app", Image: env.Images[spawnImage], Args: []string{"serve"}})
	if err != nil {
		return nil, err
	}
	shimPID := runtime.ShimPID(env.Sandbox, pod)
	if shimPID() == 0 {
		return nil, fmt.Errorf("no shim serves pod %s under %s", pod, env.Sandbox.Root())
	}
	shim, err := probe.NewProcess("shim", shimPID)
	if err != nil {
		return nil, err
	}
	debug := ""
	if d, ok := env.Sandbox.(interface{ DebugAddress() string }); ok {
		debug = d.DebugAddress()
	}
	env.Logf("pod %.12s (shim pid %d): exec probe %q, %d calls, %d in flight, timeout %v, client deadline %v",
		pod, shimPID(), p.loop.Command, p.loop.Calls, p.loop.InFlight, p.loop.Timeout, p.loop.Deadline)
	loop := p.loop
	loop.Ops, loop.Enough = env.Ops, env.Enough
	return &probing{cri: cri, container: id, loop: loop, settle: p.settle, shim: shim, debug: debug,
		mark: env.Mark, logf: env.Logf}, nil
}

// probing is one run of the exec probe loop.
type probing struct {
	cri       *workload.CRI
	container string
	loop      ProbeLoopOptions
	settle    time.Duration
	shim      *probe.Process
	debug     string // containerd's debug socket, for a grouped goroutine dump
	mark      func(string)
	logf      func(string, ...any)

	result ProbeLoopResult
}

// Probes: the pod's shim, which holds each exec's stdio FIFOs on its side.
// containerd's own process and goroutines are the engine's probes.
func (p *probing) Probes() []probe.Source { return []probe.Source{p.shim} }

// Drive runs the probe loop, then settles long enough for a fixed build's
// drain to finish (its shim waits up to 10 s for an exec's output copy when
// deleting it), so the residual tells a leak from calls still draining.
func (p *probing) Drive(ctx context.Context) error {
	res, err := ProbeLoop(ctx, p.cri, p.container, p.loop)
	p.result = res
	if err != nil {
		return err
	}
	if len(res.Calls) < p.loop.Calls {
		p.logf("the slope budgets held for certain after %d of %d exec probes: settling", len(res.Calls), p.loop.Calls)
	}
	p.logf("%d exec probes: %d ok, %d deadline, %d runtime error, %d transport error; errors %v",
		len(res.Calls), res.Count(CallOK), res.Count(CallDeadline),
		res.Count(CallRuntimeError), res.Count(CallTransportError), res.Errors())
	if n := res.Count(CallTransportError); n > 0 {
		return fmt.Errorf("%d of %d exec probes got no answer from containerd: %v", n, len(res.Calls), res.Errors())
	}
	p.mark(curve.PhaseSettle)
	return wait.Sleep(ctx, p.settle)
}

// Diagnose saves containerd's goroutines grouped by stack (debug=1): one
// line per stack with its count, so the calls parked in drainExecSyncIO
// read at a glance next to the engine's full dump.
func (p *probing) Diagnose(ctx context.Context, dir string) ([]string, error) {
	if p.debug == "" {
		return nil, errors.New("the sandbox has no debug socket for a grouped goroutine dump")
	}
	path := filepath.Join(dir, "containerd-goroutines-grouped.txt")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	err = probe.GoroutineSummary(ctx, p.debug, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("containerd goroutines grouped: %w", err)
	}
	return []string{path}, nil
}

// Extras: the headline numbers from the engine's judgement (per call,
// residual) and how the calls ended.
func (p *probing) Extras(_ []curve.Series, evals []curve.Evaluation) map[string]float64 {
	out := map[string]float64{}
	for _, e := range evals {
		if e.Verdict == curve.Inconclusive {
			continue
		}
		switch e.Budget.Kind {
		case curve.Slope:
			out[e.Budget.Metric+"_per_call"] = e.Measured
		case curve.Residual:
			out["residual_"+e.Budget.Metric] = e.Measured
		}
	}
	for _, c := range []CallClass{CallOK, CallDeadline, CallRuntimeError, CallTransportError} {
		out["calls_"+strings.ReplaceAll(string(c), "-", "_")] = float64(p.result.Count(c))
	}
	return out
}

// The engine finds an attempt's diagnostics and extras by these interfaces.
var (
	_ incident.Diagnoser = (*probing)(nil)
	_ incident.Reporter  = (*probing)(nil)
)
