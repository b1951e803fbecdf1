package dockerdrestorehang

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/incident"
)

// holdLocalKVLock takes bbolt's exclusive flock on local-kv.db from the
// harness process, as a backup tool or a second dockerd pointed at the same
// data-root does, and releases it when the variant ends. The descriptor is
// close-on-exec: the restarted dockerd does not inherit it.
func holdLocalKVLock(_ context.Context, env *incident.Env, dataRoot string) error {
	p := crash.LocalKV(dataRoot)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("lock-held: open %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("lock-held: flock %s: %w", p, err)
	}
	env.Defer(func(context.Context) error {
		// Closing the descriptor releases the lock.
		if err := f.Close(); err != nil {
			return fmt.Errorf("lock-held: release %s: %w", p, err)
		}
		return nil
	})
	env.Logf("holding an exclusive flock on %s", p)
	return nil
}
