package incident

import (
	"context"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Case is a variant's behaviour. A Case value holds only configuration
// (body size, which hang, which damage); Start makes everything one run
// needs and returns it as an Attempt, so two runs of one variant never
// share state.
type Case interface {
	// Start prepares the workload on the running sandbox (containers,
	// faults, probes) before sampling begins. Whatever it makes is undone
	// by cleanups it registers with env.Defer, also when Start fails.
	Start(ctx context.Context, env *Env) (Attempt, error)
}

// Attempt is one run of a variant, made by Case.Start.
type Attempt interface {
	// Probes are the metric sources this run adds to the sandbox's own
	// (the daemons' processes and goroutines).
	Probes() []probe.Source
	// Drive is the sampled part: it drives the workload and counts each
	// operation with env.Ops.Add. Its ctx is cancelled once a breach is
	// certain; returning that cancellation, in whatever form a client
	// library wraps it, is not a failure.
	Drive(ctx context.Context) error
}

// Diagnoser is an Attempt that captures evidence of its own on a breach or
// a failure (beyond the daemons' goroutine dumps, heap, log tail and task
// stacks the engine always takes).
type Diagnoser interface {
	// Diagnose writes into dir and returns the files it wrote.
	Diagnose(ctx context.Context, dir string) ([]string, error)
}

// Reporter is an Attempt with numbers of its own for the report, derived
// from the final series and the engine's one judgement of them (never by
// judging budgets again), e.g. negative dentries per request.
type Reporter interface {
	Extras(series []curve.Series, evals []curve.Evaluation) map[string]float64
}

// Env is what a Case works with.
type Env struct {
	// Sandbox is the running runtime instance.
	Sandbox runtime.Sandbox
	// Ops counts drive operations; the sampler tags samples with it.
	Ops *probe.Ops
	// Images maps each of the incident's images to its reference in the
	// sandbox.
	Images map[Image]string
	// Dir is the variant's results directory (for files such as load.json).
	Dir string
	// Logf narrates into the run's output.
	Logf func(format string, args ...any)
	// Mark records a named phase (e.g. curve.PhaseSettle) on every series.
	Mark func(name string)
	// Enough is closed once the watcher's looks find the slope budgets
	// decided: every one holding for certain, or a breach certain (see
	// judge.Look.SlopesDecided). A drive whose settle is its evidence
	// (Variant.RunToEnd) may then stop starting operations, let those in
	// flight finish and settle as usual: more stimulus cannot change the
	// verdict, and the settle still tells a leak from a drain and shows
	// what a leak keeps. It is never closed under RulesV1, whose
	// certainty is not calibrated; a nil channel (a Case run outside the
	// engine) never is either.
	Enough <-chan struct{}
	// Defer registers a cleanup that runs when the variant ends, also on
	// failure or interrupt, in reverse order.
	Defer func(func(ctx context.Context) error)
	// TimeScale stretches the case's own time bounds (load duration,
	// readiness waits) on a slower machine; see EnvTimeScale. 0 or 1: as
	// measured.
	TimeScale float64
}

// Closed reports, without waiting, whether ch (Env.Enough) is closed; a
// nil channel never is.
func Closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
