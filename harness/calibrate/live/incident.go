// Package live calibrates the verdict rules on live runs: a daemon whose
// leak is known (images/leaker) run through the engine like any incident
// (sandbox, sampler, watcher, judge, record), many times per leak size,
// and every recorded run re-judged under each rule set with the watcher's
// looks replayed on its series. It is not in the scenario catalog: it
// reproduces no incident, and its runs would only lengthen make reproduce
// and make test.
package live

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// ID is the calibration's incident id: its results directory and the key
// the tally recognises its runs by.
const ID = "calibration-leaker"

// leakerImage is the daemon with the known leak.
const leakerImage incident.Image = "leaker"

// The stimulus: 480 ops at 20 a second (24 s), sampled at the engine's
// 10 Hz. The first 40 ops (2 s) are the budgets' warm-up: the in-flight
// plateau fills in about one hold (0.5 s on average). The one-off step
// comes at op 60, after the warm-up, where it can mislead a fit.
const (
	ops        = 480
	opsPerSec  = 20
	warmupOps  = 40
	stepAtOp   = 60
	opTimeout  = 5 * time.Second
	runTimeout = 90 * time.Second
)

// Budgets per op at 1x. A leak at 1x keeps 24 goroutines, 24 fds and
// 7.5 MiB over the run: for goroutines and fds a few times the noise's
// swing (a plateau of 10-15 calls that each hold a goroutine and an fd,
// a step of 4 of each), for RSS about one tooth of the sawtooth (4-12
// MiB): the regime where a verdict rule earns its keep, as in the
// replays' synthetic runs.
const (
	goroutineBudget = 0.05
	fdBudget        = 0.05
	byteBudget      = 16 << 10
)

// budgets are the slope budgets every variant is judged by, in the style
// of the real incidents': per op, after a warm-up. A function, not a
// package variable, so no run can alter another's.
func budgets() []curve.Budget {
	return []curve.Budget{
		{Metric: "leaker_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: goroutineBudget, Warmup: warmupOps,
			Why: "calibration: one goroutine every 20 ops at 1x, against a plateau of in-flight calls, a step and jitter"},
		{Metric: "leaker_fds", Kind: curve.Slope, Per: curve.PerOp, Max: fdBudget, Warmup: warmupOps,
			Why: "calibration: one fd every 20 ops at 1x, against the in-flight calls' fds, a step and the ops' own connections"},
		{Metric: "leaker_rss_bytes", Kind: curve.Slope, Per: curve.PerOp, Max: byteBudget, Warmup: warmupOps,
			Why: "calibration: 16 KiB per op at 1x, against a GC sawtooth of 2-6 MiB and a 2 MiB step"},
	}
}

// DefaultMultiples are the leak sizes the live calibration runs, as
// multiples of the budgets: 0 is the null, 0.5 must hold, 1 is the
// worst-case null (the truth on the budget), 2 and 4 measure power.
var DefaultMultiples = []float64{0, 0.5, 1, 2, 4}

// VariantName is the variant that leaks multiple times the budgets:
// "null" at 0, else e.g. "leak-0-5x", "leak-2x".
func VariantName(multiple float64) string {
	if multiple == 0 {
		return "null"
	}
	return "leak-" + strings.ReplaceAll(strconv.FormatFloat(multiple, 'f', -1, 64), ".", "-") + "x"
}

// Incident is the calibration as data: one variant per multiple, each
// leaking that multiple of every budget per op with every noise on. At 1x
// and below the truth is within the budget, so a hold is right and a
// breach false; above it a breach is right.
func Incident(multiples []float64) (incident.Incident, error) {
	in := incident.Incident{
		ID:      ID,
		Title:   "calibration: a daemon that leaks a known multiple of its budgets per op, under realistic noise",
		Runtime: runtime.Dockerd,
		Summary: "Not an incident: the leaker (images/leaker) keeps exactly the configured goroutines, fds and bytes per op, " +
			"with a GC sawtooth, an in-flight plateau, a one-off step and jitter on, so the verdict rules' error rates " +
			"can be measured on live runs against a known truth.",
		Source:     "images/leaker",
		Affected:   "leak variants above 1x",
		Fixed:      "the null and the variants at or below 1x",
		Images:     []incident.Image{leakerImage},
		NotJudged:  "a calibration, not an incident: there is no configuration to judge",
		Regression: "",
	}
	seen := map[string]bool{}
	for _, m := range multiples {
		if m < 0 {
			return incident.Incident{}, fmt.Errorf("live calibration: multiple %g is negative", m)
		}
		name := VariantName(m)
		if seen[name] {
			return incident.Incident{}, fmt.Errorf("live calibration: multiple %g given twice", m)
		}
		seen[name] = true
		in.Variants = append(in.Variants, variant(m))
	}
	if err := in.Validate(); err != nil {
		return incident.Incident{}, err
	}
	return in, nil
}

// variant leaks multiple times the budgets. It runs to its end even though
// it stands for a variant that stops early: the tally replays each rule
// set's looks (and so its early stop) on the whole series, which a run cut
// short by one rule set's verdict would not leave for the others.
func variant(multiple float64) incident.Variant {
	expect, why := curve.Hold, fmt.Sprintf("the leak is %gx the budgets: within them", multiple)
	if multiple == 0 {
		why = "nothing is leaked: every slope is noise"
	}
	if multiple > 1 {
		expect, why = curve.Breach, fmt.Sprintf("the leak is %gx the budgets", multiple)
	}
	return incident.Variant{
		Name: VariantName(multiple), Expect: expect, Why: why,
		Budgets:  budgets(),
		RunToEnd: true,
		Timeout:  runTimeout,
		Case:     leakerCase{multiple: multiple},
	}
}

// args are the leaker's flags for a leak of multiple times the budgets,
// every noise on at the image's defaults, the step after the warm-up.
func args(multiple float64, seed uint64) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return []string{
		"-socket", "/run/leaker/leaker.sock",
		"-goroutines", f(multiple * goroutineBudget),
		"-fds", f(multiple * fdBudget),
		"-bytes", f(multiple * byteBudget),
		"-noise", "all",
		"-step-at", strconv.Itoa(stepAtOp),
		"-seed", strconv.FormatUint(seed, 10),
	}
}
