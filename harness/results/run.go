// Package results is the record of a relapse run: the summary.json schema
// other tools read (its keys are a contract: added, never renamed), its
// load and store in results/<run-id>/, and the raw series of every variant
// as CSV and JSON, so a verdict can be recomputed after a fitting change.
// It records what it is given: verdicts come from package judge, pages and
// charts from a Renderer (package report).
package results

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Run is everything one suite process found: it is summary.json.
type Run struct {
	// ID names the run and its directory, e.g. "20261123T150405Z".
	ID string `json:"id"`
	// Started and Finished bound the run; Finished is zero while it is
	// still being written (an interrupted run keeps a zero Finished).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Host says where it ran: runtime behaviour depends on kernel and cgroups.
	Host Host `json:"host"`
	// Results has one entry per incident variant, sorted by incident, variant.
	Results []Result `json:"results"`
}

// Host is the machine a run measured. Verdicts of memory incidents depend on
// the kernel and the cgroup version, so they travel with every result set.
type Host struct {
	Kernel string `json:"kernel"`
	// CgroupVersion is "v1" or "v2" (unified hierarchy mounted at /sys/fs/cgroup).
	CgroupVersion string `json:"cgroup_version"`
	Hostname      string `json:"hostname,omitempty"`
	CPUs          int    `json:"cpus"`
	// MemTotal is the machine's memory in bytes.
	MemTotal uint64 `json:"mem_total"`
}

// Result is what one incident variant gave. Its JSON keys are a contract
// read by other tools (CI annotations, the track-record table, dashboards):
// add keys, never rename them.
type Result struct {
	Incident string `json:"incident"`
	Variant  string `json:"variant"`
	// Cell names the runtime build a matrix run measured this variant on,
	// e.g. "containerd-1.7.18"; empty when the variant ran on its own
	// runtime. One run holds one result per incident, variant and cell.
	Cell string `json:"cell,omitempty"`
	// Title is the scenario's one line for people (optional).
	Title string `json:"title,omitempty"`
	// Runtime is a runtime.Kind: "containerd" or "dockerd".
	Runtime string `json:"runtime"`
	Version string `json:"version"`
	// Binary is the daemon binary the variant ran.
	Binary string `json:"binary,omitempty"`
	// Components are the binaries the daemon ran with besides itself (the
	// containerd a dockerd managed, the shim, runc): path, reported
	// version and how the build was obtained.
	Components map[string]runtime.Component `json:"components,omitempty"`
	// Config holds the key knobs the variant set, e.g.
	// "max_container_log_line_size": -1.
	Config map[string]any `json:"config,omitempty"`

	// Expect is the verdict the variant must give ("hold" or "breach");
	// Verdict is what it gave (a curve.Verdict). Plain strings, because
	// they are written and compared as JSON text.
	Expect  string `json:"expect"`
	Verdict string `json:"verdict"`
	// OK is Verdict == Expect with no error. judge.Fill sets it, so every
	// tool agrees on what passing means.
	OK bool `json:"ok"`

	// Metric, BudgetKind, Slope, SlopeUnit and Budget describe the primary
	// budget: the first slope budget, else the first budget (judge.Primary).
	// Slope is that budget's measured value: a fitted slope for a slope
	// budget, else the peak, growth or residual BudgetKind names.
	Metric     string     `json:"metric"`
	BudgetKind curve.Kind `json:"budget_kind,omitempty"`
	Slope      float64    `json:"slope"`
	SlopeUnit  string     `json:"slope_unit"`
	Budget     float64    `json:"budget"`
	// Growth is the primary metric's last value minus its first.
	Growth float64 `json:"growth"`

	// Started is when the variant began (optional).
	Started time.Time `json:"started,omitzero"`
	// DurationS is how long the variant sampled, in seconds.
	DurationS float64 `json:"duration_s"`
	// WallS is how long the variant took in all, in seconds: its sandbox's
	// start, image loads, workload, diagnostics and cleanup (one attempt).
	// A run with several jobs starts the longest items first by it.
	WallS float64 `json:"wall_s,omitempty"`
	// VerdictAfterS is how many seconds after the stimulus started the
	// verdict was reached (early for a certain breach).
	VerdictAfterS float64 `json:"verdict_after_s"`
	// StoppedEarly is true when the stimulus stopped on a certain verdict
	// (a breach; under rules v2 also a hold).
	StoppedEarly bool `json:"stopped_early"`
	// Rules names the verdict statistics that judged the result (a
	// curve.Rules); empty for "v1", the rules of every run recorded before
	// rules had names.
	Rules string `json:"rules,omitempty"`
	// JudgedToS is, for a run that stopped early under rules that judge
	// what the deciding look saw (v2), the time of the newest sample it saw
	// (seconds since the sampler started): the verdict is on the samples
	// up to it, so a re-judge can cut the saved series there.
	JudgedToS float64 `json:"judged_to_s,omitempty"`
	// SlopesJudgedToS is, for a variant judged on its settle whose
	// stimulus ended on decided slopes (EnoughAfterS), the newest sample
	// that look saw: its slope budgets are judged on the samples up to
	// here, the rest on all of them (judge.Cut).
	SlopesJudgedToS float64 `json:"slopes_judged_to_s,omitempty"`
	// EnoughAfterS is, for a variant that runs to its end, how many seconds
	// after the stimulus started every slope budget held for certain: its
	// drive was told it may end the stimulus there and settle.
	EnoughAfterS float64 `json:"enough_after_s,omitempty"`

	// Series is the primary metric's CSV, relative to the run directory;
	// SeriesFiles lists every series' CSV (each has a .json twin with the
	// raw curve.Series) and Charts every SVG.
	Series      string   `json:"series"`
	SeriesFiles []string `json:"series_files"`
	Charts      []string `json:"charts"`

	// Evaluations are every budget judged, in budget order.
	Evaluations []curve.Evaluation `json:"evaluations"`
	// Diagnostics are files captured on breach or failure, relative to the
	// run directory when they lie inside it.
	Diagnostics []string `json:"diagnostics"`
	// Guard is what the runtime's memory guard saw.
	Guard *runtime.GuardReport `json:"guard,omitempty"`
	// Labels are the variant's Ginkgo labels.
	Labels []string `json:"labels,omitempty"`
	// Units maps each sampled metric to its unit (e.g. "bytes"), so the
	// evaluations' numbers can be read without the series files.
	Units map[string]string `json:"units,omitempty"`
	// Extras holds scenario-specific numbers, e.g.
	// "inflight_peak_goroutines", "residual_fds", "kmem_bytes_per_request".
	Extras map[string]float64 `json:"extras,omitempty"`
	// Warnings name values the writer had to change to store the result
	// (e.g. a non-finite number JSON cannot hold).
	Warnings []string `json:"warnings,omitempty"`
	// Error is the failure text when the variant could not run to a verdict.
	Error string `json:"error,omitempty"`
}

// Name is "incident/variant", or "incident/variant@cell" in a matrix run:
// how a result is named in tables and messages, and its directory relative
// to the run directory.
func (r Result) Name() string { return r.Incident + "/" + VariantDirName(r.Variant, r.Cell) }

// VariantDirName is a variant's directory name: the variant, suffixed
// "@cell" in a matrix run so every runtime build gets its own.
func VariantDirName(variant, cell string) string {
	if cell == "" {
		return variant
	}
	return variant + "@" + cell
}

// Counts returns how many results passed (OK) and how many did not.
func (r Run) Counts() (passed, failed int) {
	for _, res := range r.Results {
		if res.OK {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}
