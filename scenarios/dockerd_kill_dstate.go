package scenarios

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/fusehang"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/harness/workload"
)

// The kubelet-shaped loop, from the measurements of issue 3: ContainerStop
// with t=1 and a 2 s client deadline, back to back. On dockerd 20.10.5 every
// abandoned call leaves 2 goroutines and 1 fd behind for good; on 20.10.24
// ~7 calls are in flight at once (+13..16 goroutines, +5..9 fds) and drain
// within ~10 s of the loop. 40 calls show a leak of ~80 goroutines, the
// settle phase shows whether it drains.
const (
	killCalls       = 40
	killStopTimeout = 1
	killDeadline    = 2 * time.Second
	killSettle      = 25 * time.Second
	// killWarmup ops are skipped before fitting: the in-flight plateau
	// builds up over the first ~10 calls.
	killWarmup = 15
)

// Budgets. Per-op slopes after warm-up: a leak is 2 goroutines and 1 fd per
// call, a plateau ~0; 0.25/op is 8x (goroutines) and 4x (fds) below the leak
// and far above the plateau's noise. In-flight peaks: 20.10.24 holds at most
// ~16 goroutines and ~9 fds above baseline; a leak passes them after ~20
// calls. Residuals: the median of the last 5 s of a 25 s settle, against the
// pre-loop baseline; 20.10.24 ends within 1-2 of baseline.
var killBudgets = []curve.Budget{
	{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: killWarmup,
		Why: "20.10.5 leaks 2.0 goroutines per stop call (Daemon.Kill + State.Wait.func1); 20.10.24 plateaus"},
	{Metric: "dockerd_fds", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: killWarmup,
		Why: "20.10.5 leaks the API connection's fd per call; 20.10.24 plateaus"},
	{Metric: "dockerd_goroutines", Kind: curve.Growth, Max: 40,
		Why: "in flight on 20.10.24: at most ~16 above baseline"},
	{Metric: "dockerd_fds", Kind: curve.Growth, Max: 20,
		Why: "in flight on 20.10.24: at most ~9 above baseline"},
	{Metric: "dockerd_goroutines", Kind: curve.Residual, Max: 6, SettleWindow: 5,
		Why: "20.10.24 drains within ~10 s of the loop; a leak keeps every goroutine"},
	{Metric: "dockerd_fds", Kind: curve.Residual, Max: 4, SettleWindow: 5,
		Why: "20.10.24 drains within ~10 s of the loop; a leak keeps every fd"},
}

// killFixedIn is the dockerd release with moby PR #42956.
const killFixedIn = "20.10.10"

func init() {
	register(scenario.Scenario{
		ID:      "dockerd-kill-dstate",
		Title:   "docker stop on a container stuck in D state leaks goroutines and fds in dockerd",
		Runtime: runtime.Dockerd,
		Summary: "A node alarmed at 80% fd usage; dockerd held 26 GB and ~1.57 million goroutines. A container's " +
			"process sat in uninterruptible sleep on a hung FUSE mount and could not die; kubelet called docker " +
			"stop again and again with a timeout, and every abandoned call left two goroutines (Daemon.Kill waiting " +
			"on State.Wait for an exit event that never came) and its connection's fd behind.",
		Source:   "https://github.com/moby/moby/pull/42956 (the fix)",
		Affected: "dockerd before 20.10.10 (measured: 20.10.5 from Debian bullseye)",
		Fixed:    "dockerd 20.10.10 (moby PR #42956); measured holding on 20.10.24",
		Images:   []string{"dstate-reader", "fusehang", "pause"},
		// Regression mode runs the plain kill loop on the user's dockerd:
		// an upgrade that brings the leak back breaches its per-call budgets.
		Regression: "dstate",
		Variants: []scenario.Variant{
			killVariant("dstate", curve.Hold, "20.10.24: calls in flight plateau and drain after the loop", "", hostHang),
			killVariant("dstate-20-10-5", curve.Breach, "20.10.5: every abandoned stop call leaks 2 goroutines and 1 fd", "20.10.5", hostHang),
			killVariant("dstate-sidecar", curve.Hold, "the CSI shape: the FUSE server in a sidecar container, the reader on an rslave bind", "", sidecarHang),
			{
				Name: "control", Expect: curve.Hold, Why: "the same loop on a container that dies normally: nothing in flight, nothing kept",
				Budgets: killBudgets, RunToEnd: true, Interval: 250 * time.Millisecond, Timeout: 4 * time.Minute,
				Setup: control.setup, Stimulus: control.stimulus, Extras: killExtras,
			},
		},
	})
}

// hangFn makes the hung mount a reader container binds, and returns the
// bind spec and the release that lets the reader's read return.
type hangFn func(ctx context.Context, e *scenario.Env, cli *client.Client) (bind string, release func(context.Context) error, err error)

func killVariant(name string, expect curve.Verdict, why, version string, hang hangFn) scenario.Variant {
	k := &killLoop{hang: hang}
	fixedIn := ""
	if expect == curve.Hold {
		// A matrix expects the leak back on any dockerd before the fix.
		fixedIn = killFixedIn
	}
	return scenario.Variant{
		Name: name, Expect: expect, Why: why, FixedIn: fixedIn,
		Sandbox:  scenario.SandboxSpec{Version: version},
		Budgets:  killBudgets,
		RunToEnd: true,
		Interval: 250 * time.Millisecond,
		Timeout:  4 * time.Minute,
		Setup:    k.setup,
		Probes:   k.probes,
		Stimulus: k.stimulus,
		Diagnose: k.diagnose,
		Extras:   killExtras,
	}
}

// killLoop is one run's state: the reader stuck in D and how to reach it.
// A variant runs once per sandbox, one at a time, so its hooks share it.
type killLoop struct {
	hang      hangFn
	cli       *client.Client
	readerID  string
	readerPID int
}

func dockerClient(ctx context.Context, e *scenario.Env) (*client.Client, error) {
	d, ok := e.Sandbox.(interface {
		Client(context.Context) (*client.Client, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s sandbox has no Docker API client", e.Sandbox.Kind())
	}
	cli, err := d.Client(ctx)
	if err != nil {
		return nil, err
	}
	e.Defer(func(context.Context) error { return cli.Close() })
	return cli, nil
}

// setup hangs a FUSE mount, starts the reader on it and waits until the
// reader is in uninterruptible sleep.
func (k *killLoop) setup(ctx context.Context, e *scenario.Env) error {
	cli, err := dockerClient(ctx, e)
	if err != nil {
		return err
	}
	k.cli = cli
	bind, release, err := k.hang(ctx, e, cli)
	if err != nil {
		return err
	}
	c, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: e.Sandbox.Address(), Image: e.Images["dstate-reader"], Name: "dstate-reader",
		HostConfig: func(hc *container.HostConfig) { hc.Binds = []string{bind} },
		Logf:       e.Logf,
	})
	if err != nil {
		return fmt.Errorf("starting the reader: %w", err)
	}
	k.readerID, k.readerPID = c.ID, c.PID
	// Release first, then remove: a container in D cannot die before its
	// read is answered.
	e.Defer(func(ctx context.Context) error {
		return errors.Join(release(ctx), c.Terminate(ctx))
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		tk, err := probe.ReadTask(k.readerPID)
		if err == nil && tk.State == "D" {
			e.Logf("reader pid %d in D at %s", k.readerPID, tk.Wchan)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reader pid %d never reached D state (last %+v, %v)", k.readerPID, tk, err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// hostHang serves the hung file from the harness process itself.
func hostHang(ctx context.Context, e *scenario.Env, _ *client.Client) (string, func(context.Context) error, error) {
	h, err := fusehang.Mount(ctx, filepath.Join(e.Sandbox.Root(), "hang"), fusehang.Options{Logf: e.Logf})
	if err != nil {
		return "", nil, err
	}
	e.Defer(h.Close)
	return h.Dir() + ":/mnt/hang:ro", func(context.Context) error { h.Release(); return nil }, nil
}

// sidecarHang serves it from a sidecar container that shares the mount
// through an rshared host dir: the shape of a hung CSI or FUSE volume.
func sidecarHang(ctx context.Context, e *scenario.Env, cli *client.Client) (string, func(context.Context) error, error) {
	shared, err := fusehang.MakeShared(ctx, filepath.Join(e.Sandbox.Root(), "csi"))
	if err != nil {
		return "", nil, err
	}
	e.Defer(shared.Close)
	side, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: e.Sandbox.Address(), Image: e.Images["fusehang"], Name: "fusehang-sidecar",
		Cmd: []string{"-dir", "/mnt/hang"},
		HostConfig: func(hc *container.HostConfig) {
			hc.Binds = []string{shared.Dir() + ":/mnt/hang:rshared"}
			hc.CapAdd = []string{"SYS_ADMIN"}
			hc.Resources.Devices = []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}}
		},
		Logf: e.Logf,
	})
	if err != nil {
		return "", nil, fmt.Errorf("starting the fusehang sidecar: %w", err)
	}
	e.Defer(func(ctx context.Context) error { return side.Terminate(ctx) })
	deadline := time.Now().Add(15 * time.Second)
	for !fuseMountedAt(shared.Dir()) {
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("the sidecar's FUSE mount never appeared on %s", shared.Dir())
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return "", nil, err
		}
	}
	release := func(ctx context.Context) error {
		// SIGUSR1 makes the sidecar answer every held read.
		_, err := cli.ContainerKill(ctx, side.ID, client.ContainerKillOptions{Signal: "USR1"})
		return err
	}
	return shared.Dir() + ":/mnt/hang:rslave", release, nil
}

// fuseMountedAt reports a fusehang mount exactly at dir, from mountinfo
// (never a stat, which would hang on the mount itself).
func fuseMountedAt(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && fields[4] == dir && strings.Contains(sc.Text(), " - fuse") {
			return true
		}
	}
	return false
}

func (k *killLoop) probes(*scenario.Env) []probe.Source {
	reader, err := probe.NewTaskState("reader", func() int { return k.readerPID })
	if err != nil {
		return nil
	}
	return []probe.Source{reader}
}

// stimulus runs the kill loop on the stuck reader, then settles.
func (k *killLoop) stimulus(ctx context.Context, e *scenario.Env) error {
	res, err := workload.KillLoop(ctx, k.cli, k.readerID, workload.KillLoopOptions{
		Calls: killCalls, StopTimeout: killStopTimeout, Deadline: killDeadline, Ops: e.Ops,
	})
	if err != nil {
		return err
	}
	e.Logf("%d stop calls: %d ok, %d deadline, %d daemon error, %d transport error; errors %v",
		killCalls, res.Count(workload.CallOK), res.Count(workload.CallDeadline),
		res.Count(workload.CallDaemonError), res.Count(workload.CallTransportError), res.Errors())
	if n := res.Count(workload.CallOK); n > 0 {
		return fmt.Errorf("%d stop calls succeeded on a container stuck in D: the fault did not hold", n)
	}
	if tk, err := probe.ReadTask(k.readerPID); err != nil || tk.State != "D" {
		return fmt.Errorf("reader pid %d left D state during the loop (%+v, %v): the fault did not hold", k.readerPID, tk, err)
	}
	e.Mark(curve.PhaseSettle)
	return sleepCtx(ctx, killSettle)
}

// diagnose saves the in-flight goroutines grouped by stack (debug=1, easy
// to diff) and the stuck reader's kernel stack.
func (k *killLoop) diagnose(ctx context.Context, e *scenario.Env, dir string) ([]string, error) {
	var files []string
	var errs []error
	sum := filepath.Join(dir, "dockerd-goroutines-grouped.txt")
	if f, err := os.Create(sum); err == nil {
		err = probe.GoroutineSummary(ctx, e.Sandbox.Address(), f)
		errs = append(errs, err, f.Close())
		files = append(files, sum)
	} else {
		errs = append(errs, err)
	}
	stack, err := probe.TaskStack(k.readerPID)
	errs = append(errs, err)
	st := filepath.Join(dir, "reader-kernel-stack.txt")
	if err := os.WriteFile(st, []byte(stack), 0o644); err == nil {
		files = append(files, st)
	} else {
		errs = append(errs, err)
	}
	return files, errors.Join(errs...)
}

// controlRun is the control variant's state: a container that dies
// normally, running since before the baseline so only the loop is measured.
type controlRun struct {
	cli *client.Client
	id  string
}

// control is shared by the control variant's hooks (one run at a time).
var control = &controlRun{}

func (c *controlRun) setup(ctx context.Context, e *scenario.Env) error {
	cli, err := dockerClient(ctx, e)
	if err != nil {
		return err
	}
	ct, err := workload.RunDocker(ctx, workload.DockerRequest{Host: e.Sandbox.Address(), Image: e.Images["pause"], Name: "control", Logf: e.Logf})
	if err != nil {
		return err
	}
	e.Defer(func(ctx context.Context) error { return ct.Terminate(ctx) })
	c.cli, c.id = cli, ct.ID
	return nil
}

// stimulus runs the same loop on it: each op stops it (it exits on
// SIGTERM) with the same timeout and deadline, and starts it again.
func (c *controlRun) stimulus(ctx context.Context, e *scenario.Env) error {
	timeout := killStopTimeout
	for i := 0; i < killCalls; i++ {
		cctx, cancel := context.WithTimeout(ctx, killDeadline)
		_, err := c.cli.ContainerStop(cctx, c.id, client.ContainerStopOptions{Timeout: &timeout})
		if err == nil {
			_, err = c.cli.ContainerStart(cctx, c.id, client.ContainerStartOptions{})
		}
		cancel()
		if err != nil {
			return fmt.Errorf("control call %d: %w", i, err)
		}
		e.Ops.Add(1)
	}
	e.Mark(curve.PhaseSettle)
	return sleepCtx(ctx, killSettle)
}

// killExtras puts the headline numbers in the report: per-op
// slopes, in-flight peaks and residuals of goroutines and fds.
func killExtras(series []curve.Series) map[string]float64 {
	out := map[string]float64{}
	for _, e := range curve.EvaluateAll(killBudgets, series, true) {
		name := strings.TrimPrefix(e.Budget.Metric, "dockerd_")
		switch e.Budget.Kind {
		case curve.Slope:
			out[name+"_per_op"] = e.Measured
		case curve.Growth:
			out["inflight_peak_"+name] = e.Measured
		case curve.Residual:
			out["residual_"+name] = e.Measured
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
