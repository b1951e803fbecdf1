package engine

import (
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// unjudgedGoroutinesEvery is how often a daemon's goroutines are read when
// no budget of the variant judges them: as often as the watcher looks.
// Each read is an HTTP request the daemon under test serves (on this VM
// ~0.9 ms of dockerd's CPU and ~0.4 ms of the harness', more than every
// procfs and cgroupfs read of a sample together), so at 10 Hz it alone
// would cost the 1% of a core the sampler may take. A series no budget
// judges is a chart and a diagnosis; two points a second draw it. The
// incidents that judge goroutines sample every 250 ms and read them at
// every sample, as before.
const unjudgedGoroutinesEvery = judge.LookEvery

// SandboxSources are the probes every variant gets: the daemon's own
// process, the containerd a dockerd manages, and the daemon's goroutines
// (dockerd --debug serves pprof on its API socket, a containerd sandbox on
// its debug socket), the count a per-call leak in a Go daemon grows. A
// goroutine probe whose metric none of budgets judges is Paced at
// unjudgedGoroutinesEvery. Exported so that the sampler's cost benchmark
// (suites/bench) measures exactly the set a run samples.
func SandboxSources(sb runtime.Sandbox, budgets []curve.Budget) ([]probe.Source, error) {
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
	goroutines := func(prefix, socket string) error {
		g, err := probe.NewGoroutines(prefix, socket)
		if err != nil {
			return err
		}
		if judged(budgets, g) {
			sources = append(sources, g)
		} else {
			sources = append(sources, probe.Paced{Source: g, Every: unjudgedGoroutinesEvery})
		}
		return nil
	}
	if sb.Kind() == runtime.Dockerd {
		if err := goroutines("dockerd", sb.Address()); err != nil {
			return nil, err
		}
	}
	if d, ok := sb.(interface{ DebugAddress() string }); ok && d.DebugAddress() != "" {
		if err := goroutines(string(sb.Kind()), d.DebugAddress()); err != nil {
			return nil, err
		}
	}
	return sources, nil
}

// judged reports whether any budget is on a metric src produces.
func judged(budgets []curve.Budget, src probe.Source) bool {
	for _, d := range src.Describe() {
		for _, b := range budgets {
			if b.Metric == d.Name {
				return true
			}
		}
	}
	return false
}
