// Package scenario declares incidents as data — what runs, what is injected,
// what is measured, the budgets, and the vulnerable and fixed variants — and
// runs one variant end to end against a private runtime sandbox.
package scenario

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Scenario is one historical incident, reproducible on demand. Its ID is the
// one key everywhere: the scenario, the make target, the Ginkgo label, the
// results directory and the README's track-record row.
type Scenario struct {
	// ID is the incident id, e.g. "containerd-huge-log-line".
	ID string
	// Title is one line for people.
	Title string
	// Runtime is the runtime under test.
	Runtime runtime.Kind
	// Summary tells what happened in production.
	Summary string
	// Source points at the write-up or upstream issue.
	Source string
	// Affected and Fixed name versions or configurations.
	Affected string
	Fixed    string
	// Images are workload image names (directories under images/) built and
	// loaded into the sandbox before any variant runs.
	Images []string
	// Variants are the configurations this incident is run in.
	Variants []Variant
	// Regression names the variant whose workload and budgets judge a
	// user's runtime in regression mode (suites/regression): it runs with
	// the user's configuration instead of its own knobs and must hold.
	// Empty when no runtime configuration or version can fix the incident
	// (e.g. a kernel accounting effect fixed in the pod spec).
	Regression string
}

// Variant is one configuration of an incident with the verdict it must give:
// a vulnerable variant must breach its budgets, a fixed one must hold.
type Variant struct {
	// Name is unique within the scenario, e.g. "unlimited".
	Name string
	// Expect is the verdict this variant must give to be ok.
	Expect curve.Verdict
	// Why says why this variant is expected to breach or hold.
	Why string
	// Sandbox is the runtime instance to start.
	Sandbox SandboxSpec
	// Interval is the sampling interval; 0 means 100ms.
	Interval time.Duration
	// Timeout caps Setup + Stimulus; 0 means 2 minutes.
	Timeout time.Duration
	// Budgets the variant's curves are judged against.
	Budgets []curve.Budget
	// RunToEnd judges only when the stimulus is over: no early stop on a
	// certain breach, because what comes after (a settle phase that tells a
	// leak from a plateau that drains) is part of the evidence.
	RunToEnd bool
	// Labels are extra Ginkgo labels (e.g. "slow").
	Labels []string
	// Attempts is how many times a suite may run the variant to see its
	// expected verdict; 0 or 1 means once. More is only for a fault whose
	// outcome is racy inside the daemon itself, with the odds in Why: a
	// retried run is reported as flaky, and a second miss fails.
	Attempts int
	// FixedIn is the first runtime version with the fix, for a hold
	// variant whose incident is fixed in the runtime: a matrix expects it
	// to breach on older versions (see Scenario.InCell).
	FixedIn string
	// Cell is the matrix cell this copy of the variant runs in (set by
	// Scenario.InCell, never declared): its results carry it and live in
	// <variant>@<cell>/.
	Cell string

	// Setup prepares the workload before sampling starts (optional).
	Setup func(ctx context.Context, e *Env) error
	// Probes lists metric sources beyond the daemon's own process probe,
	// called after Setup (optional).
	Probes func(e *Env) []probe.Source
	// Stimulus is the sampled part: it drives the workload and counts each
	// operation with e.Ops.Add. Its ctx is cancelled early once a breach is
	// certain, which is not an error.
	Stimulus func(ctx context.Context, e *Env) error
	// Extras derives scenario-specific numbers from the final series for
	// the report (e.g. negative dentries per request) (optional).
	Extras func(series []curve.Series) map[string]float64
	// Diagnose captures extra diagnostics into dir on breach (optional) and
	// returns the files it wrote.
	Diagnose func(ctx context.Context, e *Env, dir string) ([]string, error)
}

// SandboxSpec says which runtime binary and configuration a variant runs on.
type SandboxSpec struct {
	// Runtime runs this variant on another runtime than the scenario's
	// (e.g. the same workload as a CRI pod on containerd); empty means the
	// scenario's runtime.
	Runtime runtime.Kind
	// Version selects a cached runtime build (see scripts/runtimes.sh); empty
	// means the binary from RELAPSE_CONTAINERD / RELAPSE_DOCKERD or PATH.
	Version string
	// Containerd holds the knobs rendered into containerd's config.toml.
	Containerd runtime.ContainerdConfig
	// Dockerd holds the knobs rendered into dockerd's daemon.json.
	Dockerd runtime.DockerdConfig
	// MemoryLimit is the guard's RSS ceiling; 0 means runtime.DefaultMemoryLimit.
	MemoryLimit uint64
}

// Env is what a variant's hooks work with.
type Env struct {
	// Sandbox is the running runtime instance.
	Sandbox runtime.Sandbox
	// Ops counts stimulus operations; the sampler tags samples with it.
	Ops *probe.Ops
	// Images maps a workload image name to its reference in the sandbox.
	Images map[string]string
	// Dir is this variant's results directory.
	Dir string
	// Logf narrates into the suite's output.
	Logf func(format string, args ...any)
	// Mark records a named phase (e.g. "settle") on every series.
	Mark func(name string)
	// Defer registers a cleanup that runs when the variant ends, also on
	// failure or interrupt, in reverse order.
	Defer func(func(ctx context.Context) error)
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// RuntimeOf is the runtime variant v runs on.
func (s Scenario) RuntimeOf(v Variant) runtime.Kind {
	if v.Sandbox.Runtime != "" {
		return v.Sandbox.Runtime
	}
	return s.Runtime
}

// Validate reports a scenario that cannot run, naming what is wrong.
func (s Scenario) Validate() error {
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("scenario id %q: want lower-case words joined by '-'", s.ID)
	}
	if s.Runtime != runtime.Containerd && s.Runtime != runtime.Dockerd {
		return fmt.Errorf("scenario %s: unknown runtime %q", s.ID, s.Runtime)
	}
	if len(s.Variants) == 0 {
		return fmt.Errorf("scenario %s: no variants", s.ID)
	}
	seen := map[string]bool{}
	for _, v := range s.Variants {
		if !idPattern.MatchString(v.Name) {
			return fmt.Errorf("scenario %s: variant name %q: want lower-case words joined by '-'", s.ID, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("scenario %s: variant %q declared twice", s.ID, v.Name)
		}
		seen[v.Name] = true
		if v.Expect != curve.Hold && v.Expect != curve.Breach {
			return fmt.Errorf("scenario %s/%s: expect must be %q or %q, got %q", s.ID, v.Name, curve.Hold, curve.Breach, v.Expect)
		}
		if k := v.Sandbox.Runtime; k != "" && k != runtime.Containerd && k != runtime.Dockerd {
			return fmt.Errorf("scenario %s/%s: unknown sandbox runtime %q", s.ID, v.Name, k)
		}
		if v.Cell != "" {
			return fmt.Errorf("scenario %s/%s: Cell is set by a matrix run, not declared", s.ID, v.Name)
		}
		if v.Attempts < 0 || v.Attempts > 3 {
			return fmt.Errorf("scenario %s/%s: Attempts %d: want 0 to 3 (a variant that needs more is not a reproduction)", s.ID, v.Name, v.Attempts)
		}
		if v.FixedIn != "" && (v.Expect != curve.Hold || !cellVersion.MatchString(v.FixedIn)) {
			return fmt.Errorf("scenario %s/%s: FixedIn %q: want a release number like 20.10.10 on a hold variant", s.ID, v.Name, v.FixedIn)
		}
		if v.Stimulus == nil {
			return fmt.Errorf("scenario %s/%s: no stimulus", s.ID, v.Name)
		}
		if len(v.Budgets) == 0 {
			return fmt.Errorf("scenario %s/%s: no budgets", s.ID, v.Name)
		}
		for _, b := range v.Budgets {
			if err := b.Validate(); err != nil {
				return fmt.Errorf("scenario %s/%s: %w", s.ID, v.Name, err)
			}
		}
	}
	if s.Regression != "" && !seen[s.Regression] {
		return fmt.Errorf("scenario %s: regression variant %q is not one of its variants", s.ID, s.Regression)
	}
	return nil
}
