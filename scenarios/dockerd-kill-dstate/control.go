package dockerdkilldstate

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// controlName is the control container; its cleanup addresses it by name,
// so it is removed even when its start was cancelled midway.
const controlName = "control"

// restarter is the control: a container that dies normally on SIGTERM,
// running since before the baseline so only the loop is measured.
type restarter struct{}

// Start runs the pause container the loop will stop and start again.
func (restarter) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cli, err := dockerClient(ctx, env)
	if err != nil {
		return nil, err
	}
	env.Defer(func(ctx context.Context) error { return workload.RemoveDocker(ctx, cli, controlName) })
	c, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: env.Sandbox.Address(), Image: env.Images[pauseImage], Name: controlName, Logf: env.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the control container: %w", err)
	}
	return &restarting{cli: cli, ops: env.Ops, mark: env.Mark, enough: env.Enough, id: c.ID, scale: env.TimeScale}, nil
}

// restarting is one run of the control loop.
type restarting struct {
	cli  *client.Client
	ops  *probe.Ops
	mark func(string)
	id   string
	// enough ends the loop early: the slope budgets have decided.
	enough <-chan struct{}
	// scale stretches the call deadline and the settle on a slower
	// machine: a stop and start that take 0.3 s on the host take seconds
	// under emulation, and a control call must complete.
	scale float64
}

// Probes: dockerd's own, which every dockerd run has.
func (*restarting) Probes() []probe.Source { return nil }

// Drive runs the same loop on the control container: each op stops it
// (it exits on SIGTERM) with the same timeout and deadline, and starts it
// again. Then it settles like the kill loop.
func (r *restarting) Drive(ctx context.Context) error {
	timeout := stopTimeout
	for i := 0; i < controlCalls && !incident.Closed(r.enough); i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("control loop stopped after %d of %d calls: %w", i, controlCalls, err)
		}
		cctx, cancel := context.WithTimeout(ctx, incident.Scale(deadline, r.scale))
		_, err := r.cli.ContainerStop(cctx, r.id, client.ContainerStopOptions{Timeout: &timeout})
		cancel()
		if err == nil {
			// The restart is not part of the experiment (the stop is):
			// it gets a deadline of its own, long enough for a busy
			// machine, so that only a stuck daemon fails it.
			sctx, cancel := context.WithTimeout(ctx, incident.Scale(startDeadline, r.scale))
			_, err = r.cli.ContainerStart(sctx, r.id, client.ContainerStartOptions{})
			cancel()
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("control loop stopped at call %d of %d: %w", i, controlCalls, ctx.Err())
			}
			return fmt.Errorf("control call %d: %w", i, err)
		}
		r.ops.Add(1)
	}
	r.mark(curve.PhaseSettle)
	return wait.Sleep(ctx, incident.Scale(settle, r.scale))
}

// Extras: the same headline numbers as the kill loop, for comparison.
func (*restarting) Extras(_ []curve.Series, evals []curve.Evaluation) map[string]float64 {
	return loopExtras(evals)
}
