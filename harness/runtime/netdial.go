package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// DialFunc opens a connection with d (its Control hook and timeouts apply).
type DialFunc func(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error)

// Dialer returns a DialFunc that connects from inside sb's daemon's network
// namespace: a dockerd sandbox has a private one, so a workload on the
// container host network listens on a loopback that only exists there.
// The socket is made on a thread moved into that namespace and keeps it;
// the thread moves back afterwards (or ends, should it fail to).
func Dialer(sb Sandbox) DialFunc {
	return func(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
		pid := sb.PID()
		if pid == 0 {
			return nil, fmt.Errorf("dial %s in %s's network namespace: the daemon is not running", addr, sb.Kind())
		}
		return dialIn(ctx, fmt.Sprintf("/proc/%d/ns/net", pid), d, network, addr)
	}
}

func dialIn(ctx context.Context, nsPath string, d *net.Dialer, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		c, err, restored := dialOnThread(ctx, nsPath, d, network, addr)
		if restored {
			goruntime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// dialOnThread runs on a locked thread; restored says whether the thread is
// back in its own network namespace and may serve other goroutines.
func dialOnThread(ctx context.Context, nsPath string, d *net.Dialer, network, addr string) (net.Conn, error, bool) {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("dial %s: own network namespace: %w", addr, err), true
	}
	defer orig.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("dial %s: network namespace %s: %w", addr, nsPath, err), true
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("dial %s: enter %s: %w", addr, nsPath, err), true
	}
	c, derr := d.DialContext(ctx, network, addr)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return c, errors.Join(derr, fmt.Errorf("dial %s: back to the own network namespace: %w", addr, err)), false
	}
	return c, derr, true
}
