package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// lifecycle is what every sandbox does the same way around its daemon
// process: the lock that serializes Start, Stop, Restart and Close, the
// memory guard, and Stop, Crash, Restart and Guard on top of them. Each
// sandbox embeds it and supplies how to start its daemon.
type lifecycle struct {
	// name is the daemon's name in errors and narration.
	name string
	// grace is how long Stop waits after SIGTERM before SIGKILL.
	grace time.Duration
	// limit is the memory guard's RSS ceiling.
	limit uint64
	logf  func(string, ...any)
	d     *daemon
	// ns is the private namespace the daemon runs in.
	ns *namespace
	// start starts the daemon with mu held (the sandbox's startLocked).
	start func(context.Context) error

	mu      sync.Mutex // serializes Start, Stop, Restart and Close
	guard   *Guard
	closed  bool // no Start after Close
	cleaned bool // Close finished; a failed Close is retried by the next
}

// Stop implements Sandbox. Whatever the daemon leaves running when it is
// stopped (shims, containers) keeps running, as with a real daemon.
func (l *lifecycle) Stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.stop(ctx, l.grace)
}

// Crash implements Sandbox: SIGKILL of the daemon alone, nothing flushed;
// its children's fate is the daemon's own (dockerd's containerd dies with
// it, shims and containers stay), as after a real power loss.
func (l *lifecycle) Crash() error {
	pid := l.d.pid()
	if pid == 0 {
		return fmt.Errorf("%s crash: not running", l.name)
	}
	if err := l.d.kill(); err != nil {
		return fmt.Errorf("%s crash: %w", l.name, err)
	}
	l.logf("%s (pid %d) crashed by SIGKILL", l.name, pid)
	return nil
}

// Restart implements Sandbox.
func (l *lifecycle) Restart(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.d.stop(ctx, l.grace); err != nil {
		return err
	}
	return l.start(ctx)
}

// Guard implements Sandbox.
func (l *lifecycle) Guard() GuardReport {
	l.mu.Lock()
	g := l.guard
	l.mu.Unlock()
	if g == nil {
		return GuardReport{Name: l.name, Limit: l.limit}
	}
	return g.Report()
}

// privateNS is the sandbox's namespace (see ShareInside).
func (l *lifecycle) privateNS() *namespace { return l.ns }
