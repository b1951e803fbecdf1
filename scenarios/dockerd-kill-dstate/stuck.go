package dockerdkilldstate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// readerName is the container stuck in D; its cleanup addresses it by name,
// so it is removed even when its start was cancelled midway.
const readerName = "dstate-reader"

// inDWithin bounds the wait for the reader's read to block.
const inDWithin = 20 * time.Second

// stuckReader is a container whose process reads a file on a hung FUSE
// mount, so it sits in uninterruptible sleep and no signal can end it.
type stuckReader struct {
	hang hang
}

// Start hangs the mount, starts the reader on it and waits until the
// reader is in D.
func (s stuckReader) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cli, err := dockerClient(ctx, env)
	if err != nil {
		return nil, err
	}
	bind, release, err := s.hang.mount(ctx, env, cli)
	if err != nil {
		return nil, err
	}
	// Release first, then remove: a container in D cannot die before its
	// read is answered.
	env.Defer(func(ctx context.Context) error {
		return errors.Join(release(ctx), workload.RemoveDocker(ctx, cli, readerName))
	})
	c, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: env.Sandbox.Address(), Image: env.Images[readerImage], Name: readerName,
		HostConfig: func(hc *container.HostConfig) { hc.Binds = []string{bind} },
		Logf:       env.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the reader: %w", err)
	}
	var last probe.Task
	if err := wait.Until(ctx, fmt.Sprintf("reader pid %d in D state", c.PID), 50*time.Millisecond, incident.Scale(inDWithin, env.TimeScale), func() (bool, string) {
		tk, err := probe.ReadTask(c.PID)
		if err != nil {
			return false, err.Error()
		}
		last = tk
		return tk.State == "D", fmt.Sprintf("%+v", tk)
	}); err != nil {
		return nil, err
	}
	env.Logf("reader pid %d in D at %s", c.PID, last.Wchan)
	state, err := probe.NewTaskState("reader", func() int { return c.PID })
	if err != nil {
		return nil, err
	}
	return &killing{cli: cli, ops: env.Ops, mark: env.Mark, enough: env.Enough, logf: env.Logf, dockerd: env.Sandbox.Address(),
		readerID: c.ID, readerPID: c.PID, state: state, scale: env.TimeScale}, nil
}

// killing is one run of the kill loop on the stuck reader.
type killing struct {
	cli     *client.Client
	ops     *probe.Ops
	mark    func(string)
	logf    func(string, ...any)
	dockerd string // the sandbox dockerd's socket, for its goroutines
	// enough ends the loop early: the slope budgets hold for certain.
	enough <-chan struct{}

	readerID  string
	readerPID int
	state     *probe.TaskState
	// scale stretches the settle (the drain of calls still inside dockerd)
	// on a slower machine. The per-call deadline stays: every call on the
	// stuck reader is abandoned at it, however slow the machine.
	scale float64
}

// Probes: the reader's task state, which shows it stayed in D throughout.
func (k *killing) Probes() []probe.Source { return []probe.Source{k.state} }

// Drive runs the kill loop on the stuck reader, then settles so a drain
// tells an in-flight plateau from a leak.
func (k *killing) Drive(ctx context.Context) error {
	res, err := KillLoop(ctx, k.cli, k.readerID, KillLoopOptions{
		Calls: calls, StopTimeout: stopTimeout, Deadline: deadline, Ops: k.ops, Enough: k.enough,
	})
	if err != nil {
		return err
	}
	if len(res.Calls) < calls {
		k.logf("the slope budgets decided after %d of %d stop calls: settling", len(res.Calls), calls)
	}
	k.logf("%d stop calls: %d ok, %d deadline, %d daemon error, %d transport error; errors %v",
		len(res.Calls), res.Count(CallOK), res.Count(CallDeadline),
		res.Count(CallDaemonError), res.Count(CallTransportError), res.Errors())
	if n := res.Count(CallOK); n > 0 {
		return fmt.Errorf("%d stop calls succeeded on a container stuck in D: the fault did not hold", n)
	}
	if tk, err := probe.ReadTask(k.readerPID); err != nil || tk.State != "D" {
		return fmt.Errorf("reader pid %d left D state during the loop (%+v, %v): the fault did not hold", k.readerPID, tk, err)
	}
	k.mark(curve.PhaseSettle)
	return wait.Sleep(ctx, incident.Scale(settle, k.scale))
}

// Diagnose saves the in-flight goroutines grouped by stack (debug=1, easy
// to diff between versions) and the stuck reader's kernel stack.
func (k *killing) Diagnose(ctx context.Context, dir string) ([]string, error) {
	var files []string
	var errs []error
	sum := filepath.Join(dir, "dockerd-goroutines-grouped.txt")
	if f, err := os.Create(sum); err == nil {
		err = probe.GoroutineSummary(ctx, k.dockerd, f)
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

// Extras: the headline numbers, see loopExtras.
func (*killing) Extras(_ []curve.Series, evals []curve.Evaluation) map[string]float64 {
	return loopExtras(evals)
}

// The engine finds an attempt's diagnostics and extras by these interfaces.
var (
	_ incident.Diagnoser = (*killing)(nil)
	_ incident.Reporter  = (*killing)(nil)
	_ incident.Reporter  = (*restarting)(nil)
)
