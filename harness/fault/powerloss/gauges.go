package powerloss

import (
	"context"
	"maps"
	"sync"

	"github.com/relapse-dev/relapse/harness/probe"
)

// bootGauges is a probe.Source of values set once known (the restart's
// outcome); a value not yet set is simply missing from a sample. The
// sampler reads it from its own goroutine while Drive sets it.
type bootGauges struct {
	mu sync.Mutex
	v  map[string]float64
}

func newBootGauges() *bootGauges { return &bootGauges{v: map[string]float64{}} }

func (g *bootGauges) set(name string, v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.v[name] = v
}

// Describe implements probe.Source.
func (g *bootGauges) Describe() []probe.Desc {
	return []probe.Desc{
		{Name: "dockerd_boot_s", Unit: "seconds"},
		{Name: "dockerd_exit_code", Unit: "code"},
		{Name: "dockerd_networks_lost", Unit: "networks"},
	}
}

// Collect implements probe.Source.
func (g *bootGauges) Collect(context.Context) (map[string]float64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.v), nil
}
