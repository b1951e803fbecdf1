package crash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Damage changes files under a stopped dockerd's data-root and says in one
// line what it did (for the scenario's log and report).
type Damage func(dataRoot string) (string, error)

// Bolt is the Damage of one bbolt corruption on the store at path(dataRoot),
// e.g. Bolt(boltcorrupt.CycleLoop(), LocalKV).
func Bolt(c boltcorrupt.Corruption, path func(dataRoot string) string) Damage {
	return func(dataRoot string) (string, error) {
		res, err := c.Apply(path(dataRoot))
		if err != nil {
			return "", err
		}
		return res.String(), nil
	}
}

// Loss is what PowerLoss did.
type Loss struct {
	// DockerdPID and ContainerdPID are the processes SIGKILLed (0: was not running).
	DockerdPID, ContainerdPID int
	// Damage is the damage's own account, "" when there was none.
	Damage string
}

// containerdPID is what a dockerd sandbox tells about its containerd.
type containerdPID interface{ ContainerdPID() int }

// goneTimeout bounds the wait for a SIGKILLed containerd to disappear.
const goneTimeout = 10 * time.Second

// PowerLoss is the moment the power goes: it SIGKILLs the sandbox's dockerd
// (sb.Crash) and the containerd it manages, so neither finishes a write or
// cleans up (dockerd's data-root bind mount and its containers' shims stay,
// as after a real crash), then applies damage (nil: none) to the data-root
// while no daemon holds its stores. The caller restarts the daemon (through
// the same NetNS it was started from) to see what the damage does.
func PowerLoss(ctx context.Context, sb runtime.Sandbox, damage Damage) (Loss, error) {
	var loss Loss
	dataRoot, err := DataRoot(sb)
	if err != nil {
		return loss, fmt.Errorf("power loss: %w", err)
	}
	cp, ok := sb.(containerdPID)
	if !ok {
		return loss, fmt.Errorf("power loss: %s sandbox has no managed containerd: want a dockerd sandbox", sb.Kind())
	}
	loss.ContainerdPID = cp.ContainerdPID()
	loss.DockerdPID = sb.PID()
	if loss.DockerdPID != 0 {
		if err := sb.Crash(); err != nil {
			return loss, fmt.Errorf("power loss: %w", err)
		}
	}
	if loss.ContainerdPID != 0 {
		if err := syscall.Kill(loss.ContainerdPID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return loss, fmt.Errorf("power loss: SIGKILL containerd (pid %d): %w", loss.ContainerdPID, err)
		}
		if err := waitGone(ctx, loss.ContainerdPID, goneTimeout); err != nil {
			return loss, fmt.Errorf("power loss: containerd: %w", err)
		}
	}
	if damage == nil {
		return loss, nil
	}
	what, err := damage(dataRoot)
	if err != nil {
		return loss, fmt.Errorf("power loss: damage under %s: %w", dataRoot, err)
	}
	loss.Damage = what
	return loss, nil
}

// waitGone waits until pid is gone from /proc. A zombie is not gone: its
// parent dockerd is dead, and until whoever inherits it reaps it, a
// restarted dockerd's supervisor finds the pid in containerd.pid "alive"
// (kill(pid, 0) succeeds), waits for that containerd's socket instead of
// starting a new one, and gives up after 15 s.
func waitGone(ctx context.Context, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		state, exists := procState(pid)
		if !exists {
			return nil
		}
		if time.Now().After(deadline) {
			if state == 'Z' {
				return fmt.Errorf("pid %d is still an unreaped zombie %s after SIGKILL: its new parent does not reap it", pid, timeout)
			}
			return fmt.Errorf("pid %d still alive (state %c) %s after SIGKILL (uninterruptible sleep?)", pid, state, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pid %d to die: %w", pid, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// procState is pid's state letter from /proc/<pid>/stat, and whether the
// pid exists at all.
func procState(pid int) (byte, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return '?', true
	}
	return s[i+2], true
}

// BoltOnContainer is the Damage of corruption c aimed at one container's
// bucket in the containerd metadata store (meta.db's v1/<namespace>/
// containers/<id>): the first container, in key order, whose bucket has a
// branch page (a container's OCI spec is big enough to give it one), so
// that a cycle or a zeroed page has a tree to live in. Container ids are
// random, so the bucket is found when the damage is done.
func BoltOnContainer(c boltcorrupt.Corruption) Damage {
	return func(dataRoot string) (string, error) {
		path := MetaDB(dataRoot)
		rep, err := boltcorrupt.Inspect(path)
		if err != nil {
			return "", err
		}
		for _, b := range rep.Buckets {
			if len(b.Path) == 4 && b.Path[0] == "v1" && b.Path[2] == "containers" && len(b.BranchPages) > 0 {
				return Bolt(c.WithBucket(b.Path...).WithPrefix(""), MetaDB)(dataRoot)
			}
		}
		return "", fmt.Errorf("%s has no container bucket with a branch page to damage (run containers before the power loss): %s", path, rep.String())
	}
}
