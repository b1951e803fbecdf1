package diag

import (
	"os"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// target is one daemon process to diagnose.
type target struct {
	// name prefixes its files: "dockerd" or "containerd".
	name string
	pid  int
	// pprofSocket serves /debug/pprof over HTTP ("" when there is none;
	// pprofMissing then says why, or is empty when that is normal).
	pprofSocket  string
	pprofMissing string
	// dumpDir is where dockerd writes goroutine-stacks-*.log on SIGUSR1.
	dumpDir string
	// stacksInTmp: containerd writes containerd.<pid>.stacks.log to its
	// TMPDIR on SIGUSR1.
	stacksInTmp bool
	// shim: a containerd shim, diagnosed by its threads only (there may be
	// one per pod; stracing them all would cost more than it tells).
	shim bool
}

// What the runtime's sandboxes offer beyond runtime.Sandbox.
type (
	managesContainerd interface {
		ContainerdPID() int
		ContainerdAddress() string
	}
	hasDebugAddress interface{ DebugAddress() string }
	hasDaemonConfig interface{ DaemonConfig() map[string]any }
)

// targetsOf lists the processes of a sandbox to diagnose: its daemons and
// the shims of its containerd.
func targetsOf(sb runtime.Sandbox) []target {
	out := daemonsOf(sb)
	shims, _ := runtime.Shims(sb) // best effort: the daemons come first
	for _, s := range shims {
		id := s.ID
		if len(id) > 12 {
			id = id[:12]
		}
		out = append(out, target{name: "shim-" + id, pid: s.PID, shim: true})
	}
	return out
}

// daemonsOf lists the daemons of a sandbox: dockerd and its containerd, or
// a standalone containerd.
func daemonsOf(sb runtime.Sandbox) []target {
	switch sb.Kind() {
	case runtime.Dockerd:
		d := target{name: "dockerd", pid: sb.PID(), pprofSocket: sb.Address()}
		if c, ok := sb.(hasDaemonConfig); ok {
			if er, ok := c.DaemonConfig()["exec-root"].(string); ok {
				d.dumpDir = er
			}
		}
		out := []target{d}
		if m, ok := sb.(managesContainerd); ok {
			c := target{name: "containerd", pid: m.ContainerdPID(), stacksInTmp: true}
			// dockerd's supervisor configures its containerd's debug
			// socket next to the gRPC one (libcontainerd/supervisor).
			debug := filepath.Join(filepath.Dir(m.ContainerdAddress()), "containerd-debug.sock")
			if _, err := os.Stat(debug); err == nil {
				c.pprofSocket = debug
			} else {
				c.pprofMissing = "no debug socket " + debug + " (containerd not running?)"
			}
			out = append(out, c)
		}
		return out
	default:
		c := target{name: string(sb.Kind()), pid: sb.PID(), stacksInTmp: true}
		if d, ok := sb.(hasDebugAddress); ok && d.DebugAddress() != "" {
			c.pprofSocket = d.DebugAddress()
		} else {
			c.pprofMissing = "the sandbox has no debug socket"
		}
		return []target{c}
	}
}
