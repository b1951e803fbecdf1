// Package incident is relapse's incident contract. An Incident and its
// Variants are data: what happened, the workload images, the sandbox each
// variant runs in, the budgets it is judged by and the verdict it must give.
// Behaviour sits behind one small interface, Case, whose Start returns an
// Attempt that owns everything one run made (its workload, its probes, its
// drive loop), so no incident keeps state between runs or in its package.
//
// The engine (harness/engine) plans, runs, judges and records; an incident
// never does any of that itself.
package incident

import (
	"fmt"
	"regexp"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Incident is one real runtime incident, reproducible on demand. Its ID is
// the one key everywhere: the scenarios/<id>/ directory, `make reproduce
// INCIDENT=<id>`, the Ginkgo label, the results directory and the README's
// track-record row.
type Incident struct {
	// ID is lower-case words joined by '-', e.g. "containerd-huge-log-line".
	ID string
	// Title is one line for people.
	Title string
	// Runtime is the runtime under test (a variant may run on another).
	Runtime runtime.Kind
	// Summary tells what happened in production.
	Summary string
	// Source points at the write-up or upstream issue.
	Source string
	// Affected and Fixed name versions or configurations.
	Affected string
	Fixed    string
	// Images are the workload images built and loaded into each sandbox
	// before a variant starts.
	Images []Image
	// Variants are the configurations the incident is run in.
	Variants []Variant
	// Regression names the variant whose workload and budgets judge a
	// user's runtime in regression mode: it runs with the user's
	// configuration instead of its own knobs and must hold. Empty when no
	// runtime configuration or version can fix the incident; NotJudged
	// then says why.
	Regression string
	// NotJudged says why regression mode does not judge this incident
	// (when Regression is empty).
	NotJudged string
	// Alone says why the incident's variants need the machine to
	// themselves: they change or measure something machine-wide (the
	// kernel's caches) or load it enough to pace a neighbour's drive.
	// Empty: a run with several jobs may run them beside other variants,
	// each in its own sandbox.
	Alone string
}

// Image is a workload image: a directory under images/ holding either a
// static Go program (built FROM scratch) or a rootfs recipe.
type Image string

// Variant is one configuration of an incident with the verdict it must
// give: a vulnerable variant must breach its budgets, a fixed one must
// hold. Everything but Case is data.
type Variant struct {
	// Name is unique within the incident, e.g. "unlimited".
	Name string
	// Expect is the verdict the variant must give to be ok.
	Expect curve.Verdict
	// Why says why the variant is expected to breach or hold.
	Why string
	// Sandbox is the runtime instance to start.
	Sandbox Sandbox
	// Interval is the sampling interval; 0 means 100ms.
	Interval time.Duration
	// Timeout caps the attempt's Start and Drive; 0 means 2 minutes.
	Timeout time.Duration
	// Budgets the variant's curves are judged against.
	Budgets []curve.Budget
	// RunToEnd judges only when the drive is over: no early stop on a
	// certain breach, because what comes after (a settle phase that tells a
	// leak from a plateau that drains) is part of the evidence.
	RunToEnd bool
	// Labels are extra labels (e.g. "slow") for selection and Ginkgo.
	Labels []string
	// Guest marks a variant for the guest runs (other kernels, cgroup v2);
	// it adds the labels those runs select by (Guest.Labels).
	Guest Guest
	// Attempts is how many runs a suite may make to see the expected
	// verdict; 0 or 1 means once. More is only for a fault whose outcome
	// races inside the daemon itself, with the odds in Why.
	Attempts int
	// Affected are the releases the variant breaches on, when that depends
	// on the build: a matrix expects a breach on a cell inside them and a
	// hold on every other, whatever Expect says (Expect is the verdict on
	// the variant's own build). Empty means Expect on every build.
	Affected Ranges
	// Alone says why this variant needs the machine to itself when its
	// incident's others do not (see Incident.Alone), e.g. an outcome that
	// races inside the daemon, whose odds were measured one at a time.
	Alone string
	// Case is the variant's behaviour.
	Case Case
}

// Sandbox says which runtime build and configuration a variant runs on.
type Sandbox struct {
	// Runtime runs the variant on another runtime than the incident's
	// (e.g. the same workload as a CRI pod on containerd); empty means the
	// incident's.
	Runtime runtime.Kind
	// Version pins a cached runtime build; empty means the binary from
	// RELAPSE_CONTAINERD / RELAPSE_DOCKERD, PATH, or a matrix cell.
	Version string
	// Binary runs a build outside the cache (a commit built by a
	// bisection); exclusive with Version.
	Binary string
	// Containerd is overlaid on the config.toml relapse renders.
	Containerd runtime.ContainerdConfig
	// Dockerd is overlaid on the daemon.json relapse renders.
	Dockerd runtime.DockerdConfig
	// MemoryLimit is the guard's RSS ceiling; 0 means runtime.DefaultMemoryLimit.
	MemoryLimit uint64
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// releasePattern is a release number as builds and cells name them.
var releasePattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// RuntimeOf is the runtime variant v runs on.
func (in Incident) RuntimeOf(v Variant) runtime.Kind {
	if v.Sandbox.Runtime != "" {
		return v.Sandbox.Runtime
	}
	return in.Runtime
}

// Variant returns the named variant.
func (in Incident) Variant(name string) (Variant, bool) {
	for _, v := range in.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Validate reports an incident that cannot run, naming what is wrong.
func (in Incident) Validate() error {
	if !idPattern.MatchString(in.ID) {
		return fmt.Errorf("incident id %q: want lower-case words joined by '-'", in.ID)
	}
	if !knownRuntime(in.Runtime) {
		return fmt.Errorf("incident %s: unknown runtime %q (want containerd or dockerd)", in.ID, in.Runtime)
	}
	if len(in.Variants) == 0 {
		return fmt.Errorf("incident %s: no variants", in.ID)
	}
	for _, img := range in.Images {
		if !idPattern.MatchString(string(img)) {
			return fmt.Errorf("incident %s: image %q: want a directory name under images/", in.ID, img)
		}
	}
	seen := map[string]bool{}
	for _, v := range in.Variants {
		if seen[v.Name] {
			return fmt.Errorf("incident %s: variant %q declared twice", in.ID, v.Name)
		}
		seen[v.Name] = true
		if err := v.validate(); err != nil {
			return fmt.Errorf("incident %s/%s: %w", in.ID, v.Name, err)
		}
	}
	if in.Regression != "" && !seen[in.Regression] {
		return fmt.Errorf("incident %s: regression variant %q is not one of its variants", in.ID, in.Regression)
	}
	if in.Regression != "" && in.NotJudged != "" {
		return fmt.Errorf("incident %s: NotJudged is for an incident without a regression variant", in.ID)
	}
	return nil
}

func (v Variant) validate() error {
	if !idPattern.MatchString(v.Name) {
		return fmt.Errorf("variant name %q: want lower-case words joined by '-'", v.Name)
	}
	if v.Expect != curve.Hold && v.Expect != curve.Breach {
		return fmt.Errorf("expect must be %q or %q, got %q", curve.Hold, curve.Breach, v.Expect)
	}
	if k := v.Sandbox.Runtime; k != "" && !knownRuntime(k) {
		return fmt.Errorf("unknown sandbox runtime %q (want containerd or dockerd)", k)
	}
	if s := v.Sandbox.Version; s != "" && !releasePattern.MatchString(s) {
		return fmt.Errorf("pinned version %q: want a release number like 20.10.5", s)
	}
	if v.Attempts < 0 || v.Attempts > 3 {
		return fmt.Errorf("Attempts %d: want 0 to 3 (a variant that needs more is not a reproduction)", v.Attempts)
	}
	if err := v.Affected.Validate(); err != nil {
		return fmt.Errorf("Affected: %w", err)
	}
	if pin := v.Sandbox.Version; pin != "" && len(v.Affected) > 0 {
		if want, _ := v.ExpectOn(pin); want != v.Expect {
			return fmt.Errorf("expects %s on its pinned %s, but Affected (%s) says %s there: fix one of them", v.Expect, pin, v.Affected, want)
		}
	}
	if v.Case == nil {
		return fmt.Errorf("no Case: nothing to run")
	}
	if len(v.Budgets) == 0 {
		return fmt.Errorf("no budgets")
	}
	for _, b := range v.Budgets {
		if err := b.Validate(); err != nil {
			return err
		}
	}
	for _, l := range v.Labels {
		if !idPattern.MatchString(l) {
			return fmt.Errorf("label %q: want lower-case words joined by '-'", l)
		}
	}
	if err := v.Guest.validate(); err != nil {
		return err
	}
	return nil
}

func knownRuntime(k runtime.Kind) bool { return k == runtime.Containerd || k == runtime.Dockerd }
