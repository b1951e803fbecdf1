package engine

import (
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// SandboxSources are the probes every variant gets: the daemon's own
// process, the containerd a dockerd manages, and the daemon's goroutines
// (dockerd --debug serves pprof on its API socket, a containerd sandbox on
// its debug socket), the count a per-call leak in a Go daemon grows.
// Exported so that the sampler's cost benchmark (suites/bench) measures
// exactly the set a run samples.
func SandboxSources(sb runtime.Sandbox) ([]probe.Source, error) {
	p, err := probe.NewProcess(string(sb.Kind()), sb.PID)
	if err != nil {
		return nil, err
	}
	sources := []probe.Source{p}
	if d, ok := sb.(interface{ ContainerdPID() int }); ok {
		c, err := probe.NewProcess("containerd", d.ContainerdPID)
		if err != nil {
			return nil, err
		}
		sources = append(sources, c)
	}
	if sb.Kind() == runtime.Dockerd {
		g, err := probe.NewGoroutines("dockerd", sb.Address())
		if err != nil {
			return nil, err
		}
		sources = append(sources, g)
	}
	if d, ok := sb.(interface{ DebugAddress() string }); ok && d.DebugAddress() != "" {
		g, err := probe.NewGoroutines(string(sb.Kind()), d.DebugAddress())
		if err != nil {
			return nil, err
		}
		sources = append(sources, g)
	}
	return sources, nil
}
