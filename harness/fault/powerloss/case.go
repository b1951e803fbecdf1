package powerloss

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/relapse-dev/relapse/harness/diag"
	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
)

// Case is a variant of a power-loss incident: what runs at the power loss,
// what the loss leaves damaged, and how the restart is watched. It holds
// configuration only; Start makes the run.
type Case struct {
	// Spec is the population made before the loss; its Image is filled
	// from Image.
	Spec crash.Spec
	// Image is the incident's image the population's containers run (a
	// pause image: what they run does not matter, that they run does).
	Image incident.Image
	// Damage is done while both daemons are down (nil: none).
	Damage crash.Damage
	// AfterLoss runs after the damage, before the restart (optional): a
	// workaround applied to the data-root, or a process that holds one of
	// its stores. What it makes it undoes through env.Defer.
	AfterLoss func(ctx context.Context, env *incident.Env, dataRoot string) error
	// WatchContainerd adds a watchdog on the containerd dockerd starts
	// (containerd_rss_peak_bytes, containerd_api_wait_s, ...).
	WatchContainerd bool
	// BootFor bounds the restart: past it the start is given up on and the
	// daemon killed.
	BootFor time.Duration
	// Tail keeps sampling after the restart ended, so the series show it.
	Tail time.Duration
	// LiveWhen, when set, is asked every 50 ms while the restart waits; the
	// first time it says yes, diagnostics are taken while the daemons still
	// misbehave (the engine's own, after the verdict, come after the memory
	// guard or the restart's deadline has killed them).
	LiveWhen LiveWhen
}

// Start moves the sandbox's dockerd into a private network namespace,
// populates it, pulls the plug, damages its store and runs AfterLoss. The
// restart itself is the attempt's Drive, so the sampler sees all of it.
func (c Case) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	if c.BootFor <= 0 {
		return nil, errors.New("power loss: BootFor must bound the restart")
	}
	image, ok := env.Images[c.Image]
	if !ok {
		return nil, fmt.Errorf("power loss: image %q is not among the incident's loaded images", c.Image)
	}
	sb := env.Sandbox
	dataRoot, err := crash.DataRoot(sb)
	if err != nil {
		return nil, fmt.Errorf("power loss: %w", err)
	}
	ns, err := crash.NewNetNS()
	if err != nil {
		return nil, fmt.Errorf("power loss: private network namespace: %w", err)
	}
	env.Defer(func(ctx context.Context) error {
		// Stop the daemon born in the namespace before its thread ends
		// (the thread's end SIGKILLs it); Close cleans up either way.
		err := sb.Stop(ctx)
		ns.Close()
		return err
	})

	if err := sb.Stop(ctx); err != nil {
		return nil, fmt.Errorf("stopping dockerd to restart it in a private network namespace: %w", err)
	}
	var startErr error
	if err := ns.Do(func() { startErr = sb.Start(ctx) }); err != nil {
		return nil, fmt.Errorf("starting dockerd in a private network namespace: %w", err)
	}
	if startErr != nil {
		return nil, fmt.Errorf("starting dockerd in a private network namespace: %w", startErr)
	}

	spec := c.Spec
	spec.Image = image
	began := time.Now()
	pop, err := crash.Populate(ctx, sb, spec)
	if err != nil {
		return nil, fmt.Errorf("power loss: populating dockerd: %w", err)
	}
	env.Logf("populated %d networks, %d running and %d stopped containers in %s",
		len(pop.Networks), len(pop.Running), len(pop.Stopped), time.Since(began).Round(time.Millisecond))
	if rep, err := boltcorrupt.Inspect(crash.LocalKV(dataRoot)); err == nil {
		if b, ok := rep.Bucket(boltcorrupt.DefaultBucket); ok {
			env.Logf("local-kv.db: %d keys on %d branch and %d leaf pages (%d pages in all)",
				b.Keys, len(b.BranchPages), len(b.LeafPages), rep.Pages)
		}
	}

	loss, err := crash.PowerLoss(ctx, sb, c.Damage)
	if err != nil {
		return nil, err
	}
	env.Logf("power loss: SIGKILLed dockerd %d and containerd %d; %s", loss.DockerdPID, loss.ContainerdPID, orNone(loss.Damage))
	if c.AfterLoss != nil {
		if err := c.AfterLoss(ctx, env, dataRoot); err != nil {
			return nil, fmt.Errorf("power loss: after the loss: %w", err)
		}
	}

	a := &attempt{c: c, env: env, ns: ns, pop: pop, gauges: newBootGauges()}
	if a.daemons.Dockerd, err = diag.NewDockerdWatchdog(sb); err != nil {
		return nil, fmt.Errorf("power loss: dockerd watchdog: %w", err)
	}
	env.Defer(a.daemons.Dockerd.Close)
	if c.WatchContainerd {
		if a.daemons.Containerd, err = containerdWatchdog(env); err != nil {
			return nil, fmt.Errorf("power loss: %w", err)
		}
		env.Defer(a.daemons.Containerd.Close)
	}
	return a, nil
}

// managedContainerd is what a dockerd sandbox tells about its containerd.
type managedContainerd interface {
	ContainerdPID() int
	ContainerdAddress() string
}

// containerdWatchdog watches the containerd the sandbox's dockerd starts;
// a gRPC daemon's API counts as answering once its socket accepts.
func containerdWatchdog(env *incident.Env) (*diag.Watchdog, error) {
	m, ok := env.Sandbox.(managedContainerd)
	if !ok {
		return nil, fmt.Errorf("containerd watchdog: %s sandbox has no managed containerd: want a dockerd sandbox", env.Sandbox.Kind())
	}
	w, err := diag.NewWatchdog("containerd", m.ContainerdPID, diag.DialUnix(m.ContainerdAddress()))
	if err != nil {
		return nil, fmt.Errorf("containerd watchdog: %w", err)
	}
	return w, nil
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// The engine finds an attempt's diagnostics and extras by these interfaces.
var (
	_ incident.Case      = Case{}
	_ incident.Diagnoser = (*attempt)(nil)
	_ incident.Reporter  = (*attempt)(nil)
	_ probe.Source       = (*bootGauges)(nil)
)
