package powerloss

import (
	"context"
	"errors"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
)

// watchEvery is how often Drive asks LiveWhen while the restart waits: the
// watchdogs' own read interval, so a loop the memory guard kills within a
// second or two is still caught alive.
const watchEvery = 50 * time.Millisecond

// abortWithin bounds giving up on a restart after a certain breach (the
// sandbox's Start kills the daemon and returns).
const abortWithin = 30 * time.Second

// attempt is one run of a Case: the crashed dockerd's namespace and
// population, the watchdogs on the restart and what the restart came to.
type attempt struct {
	c   Case
	env *incident.Env

	ns      *crash.NetNS
	pop     crash.Population
	daemons Daemons
	gauges  *bootGauges

	// live holds the files of the live diagnostics, nil until taken (an
	// empty, non-nil slice when they were attempted and wrote nothing).
	live []string
}

// Probes: the watchdogs and the restart's outcome gauges.
func (a *attempt) Probes() []probe.Source {
	out := []probe.Source{a.daemons.Dockerd}
	if a.daemons.Containerd != nil {
		out = append(out, a.daemons.Containerd)
	}
	return append(out, a.gauges)
}

// Drive restarts dockerd and watches it until it is up or gone, or the
// breach is certain; a daemon that grows or hangs is diagnosed while it
// still does. Cancelled by a certain breach, it gives the restart up and
// returns ctx's error.
func (a *attempt) Drive(ctx context.Context) error {
	env := a.env
	boot := crash.StartBoot(a.ns, env.Sandbox, a.c.BootFor)
	env.Defer(boot.Abort)
	env.Logf("restarting dockerd after the power loss (up to %s)", a.c.BootFor)
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-boot.Done():
			env.Ops.Add(1)
			a.recordBoot(ctx, boot)
			return wait.Sleep(ctx, a.c.Tail)
		case <-ctx.Done():
			// A certain breach while the restart still waits: a hang, or
			// the daemon still growing. Capture it, then end the wait.
			if a.live == nil && env.Sandbox.PID() > 0 && !a.daemons.Dockerd.Answered() {
				a.captureLive("breach certain while dockerd has not answered for " + a.daemons.Dockerd.APIWait().Round(time.Millisecond).String())
			}
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortWithin)
			defer cancel()
			if err := boot.Abort(actx); err != nil {
				return err
			}
			a.recordBoot(actx, boot)
			return ctx.Err()
		case <-tick.C:
			if a.c.LiveWhen != nil && a.live == nil {
				if why, now := a.c.LiveWhen(ctx, a.daemons); now {
					a.captureLive(why)
				}
			}
		}
	}
}

// recordBoot logs how the restart ended and sets the outcome gauges.
func (a *attempt) recordBoot(ctx context.Context, boot *crash.Boot) {
	env := a.env
	took, err := boot.Result()
	a.gauges.set("dockerd_boot_s", took.Seconds())
	if err != nil {
		status := crash.ExitStatus(err)
		switch {
		case status != "":
		case errors.Is(err, context.Canceled):
			status = "given up: breach certain, daemon killed"
		default:
			status = firstLine(err.Error())
		}
		env.Logf("restart failed after %s (%s)%s", took.Round(time.Millisecond), status, bootReason(env.Sandbox.LogPath()))
		if code, ok := exitCode(status); ok {
			a.gauges.set("dockerd_exit_code", code)
		}
		// A daemon that refuses to start loses nothing silently.
		a.gauges.set("dockerd_networks_lost", 0)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lost, lerr := crash.NetworksLost(lctx, env.Sandbox, a.pop)
	if lerr != nil {
		env.Logf("restart ready after %s; listing networks: %v", took.Round(time.Millisecond), lerr)
		return
	}
	a.gauges.set("dockerd_networks_lost", float64(len(lost)))
	env.Logf("restart ready after %s; user networks lost: %d of %d %v", took.Round(time.Millisecond), len(lost), len(a.pop.Networks), lost)
}

// Diagnose returns the live diagnostics taken while the daemons
// misbehaved; the engine's own, taken now, may find them dead.
func (a *attempt) Diagnose(context.Context, string) ([]string, error) {
	return a.live, nil
}

// Extras are the restart's numbers for the report: see bootExtras.
func (a *attempt) Extras(series []curve.Series, _ []curve.Evaluation) map[string]float64 {
	return bootExtras(series)
}
