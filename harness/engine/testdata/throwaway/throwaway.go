// Package throwaway is an incident that exists only to prove the contract:
// everything it needs (a containerd knob nobody else uses, a probe of its
// own, its own workload image) is declared in this directory, and the
// engine runs it unchanged. engine's contract test registers it.
package throwaway

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/wait"
)

// Knob is a CRI setting only this incident sets.
const Knob = "throwaway_knob"

// Incident is the throwaway incident as data.
func Incident() incident.Incident {
	budgets := []curve.Budget{{Metric: "throwaway_widgets", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5, Warmup: 2,
		Why: "a leaking widget factory keeps one widget per op"}}
	return incident.Incident{
		ID: "throwaway-widget-leak", Title: "a widget per op", Runtime: runtime.Containerd,
		Summary: "exists for the contract test", Affected: "none", Fixed: "none",
		Images:    []incident.Image{"throwaway-widgets"},
		NotJudged: "a test fixture",
		Variants: []incident.Variant{
			{Name: "leaks", Expect: curve.Breach, Why: "keeps every widget", Budgets: budgets, Interval: 20 * time.Millisecond,
				Sandbox: incident.Sandbox{Containerd: runtime.ContainerdConfig{CRI: map[string]any{Knob: "on"}}},
				Case:    factory{keep: true}},
			{Name: "frees", Expect: curve.Hold, Why: "frees every widget", Budgets: budgets, Interval: 20 * time.Millisecond,
				Sandbox: incident.Sandbox{Containerd: runtime.ContainerdConfig{CRI: map[string]any{Knob: "off"}}},
				Case:    factory{}},
		},
	}
}

// factory makes widgets; keep says whether it leaks them.
type factory struct{ keep bool }

// Start checks that its image reached the sandbox and returns a run.
func (f factory) Start(_ context.Context, env *incident.Env) (incident.Attempt, error) {
	env.Logf("widgets from %s", env.Images["throwaway-widgets"])
	return &run{factory: f, env: env}, nil
}

type run struct {
	factory
	env     *incident.Env
	widgets atomic.Int64
}

// Probes is the incident's own probe: the widgets alive.
func (r *run) Probes() []probe.Source { return []probe.Source{widgetProbe{r}} }

// Drive makes a widget every 20 ms, one per op, for at most 30 s: the
// engine stops it once its verdict is certain, which the default rules
// (RulesV3) decide no earlier than a 12 s window.
func (r *run) Drive(ctx context.Context) error {
	for range 1500 {
		if r.keep {
			r.widgets.Add(1)
		}
		r.env.Ops.Add(1)
		if err := wait.Sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

type widgetProbe struct{ r *run }

func (widgetProbe) Describe() []probe.Desc {
	return []probe.Desc{{Name: "throwaway_widgets", Unit: "widgets"}}
}

func (p widgetProbe) Collect(context.Context) (map[string]float64, error) {
	return map[string]float64{"throwaway_widgets": float64(p.r.widgets.Load())}, nil
}
