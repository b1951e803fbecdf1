package runtime

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Shim is a containerd shim a sandbox started: the process that owns one
// pod's (or one dockerd container's) tasks, their stdio FIFOs and their
// exit events. Per-container leaks often live there rather than in the
// daemon, so a shim is a probe and diagnostics target like the daemons.
type Shim struct {
	// ID is what the shim serves: a CRI pod sandbox id, or a dockerd
	// container id.
	ID string
	// Namespace is the containerd namespace ("k8s.io", "moby").
	Namespace string
	PID       int
}

// Shims lists the shims of sb's containerd (its own, or the one a dockerd
// sandbox manages), found by their -address below sb's root.
func Shims(sb Sandbox) ([]Shim, error) {
	if root := sb.Root(); root == "" || !filepath.IsAbs(root) || root == "/" {
		return nil, fmt.Errorf("shims: sandbox root %q is not a sandbox's own directory", root)
	}
	procs, err := procsUnder(sb.Root())
	if err != nil {
		return nil, fmt.Errorf("shims of %s: %w", sb.Root(), err)
	}
	var out []Shim
	for _, p := range procs {
		if len(p.args) == 0 || !strings.HasPrefix(filepath.Base(p.args[0]), "containerd-shim") {
			continue
		}
		s := Shim{PID: p.pid}
		for i := 1; i+1 < len(p.args); i++ {
			switch strings.TrimLeft(p.args[i], "-") {
			case "id":
				s.ID = p.args[i+1]
			case "namespace":
				s.Namespace = p.args[i+1]
			}
		}
		if s.ID != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// ShimPID returns a pid function for the shim serving id in sb, for a
// probe: it looks the shim up again whenever it has none (it starts with
// the pod, and a restart gives it a new pid), and returns 0 while there is
// none.
func ShimPID(sb Sandbox, id string) func() int {
	var mu sync.Mutex
	var pid int
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		if pid > 0 && unix.Kill(pid, 0) == nil {
			return pid
		}
		pid = 0
		shims, err := Shims(sb)
		if err != nil {
			return 0
		}
		for _, s := range shims {
			if s.ID == id {
				pid = s.PID
			}
		}
		return pid
	}
}
