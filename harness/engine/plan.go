package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Filter selects what a plan runs. The zero Filter is every variant of
// every incident on its own runtime.
type Filter struct {
	// Incident picks one incident by id; empty means all.
	Incident string
	// Variant picks variants by exact name; empty means all.
	Variant string
	// Runtimes makes the plan a matrix: every variant that does not pin a
	// version runs once on each cell of its runtime.
	Runtimes []Cell
	// Repin runs pinned variants on the Runtimes cells too, in place of
	// their pinned build: a bisection judges one variant's workload and
	// budgets on builds the variant does not name.
	Repin bool
	// Label keeps only the items carrying this selection label (Item.Labels),
	// e.g. "guest"; empty means all.
	Label string
	// ContainerdConfig and DockerdConfig make the plan a regression run:
	// each incident's regression variant runs on the user's file for its
	// runtime and must hold. At least one is set in regression mode.
	ContainerdConfig, DockerdConfig string
}

// Regression reports whether f judges a user's configuration.
func (f Filter) Regression() bool { return f.ContainerdConfig != "" || f.DockerdConfig != "" }

// Item is one run the plan makes: an incident's variant on a runtime build,
// with the verdict it must give there.
type Item struct {
	Incident incident.Incident
	// Variant is as declared, except Sandbox.Version (set to the cell's
	// version in a matrix).
	Variant incident.Variant
	// Runtime is the runtime the variant runs on.
	Runtime runtime.Kind
	// Cell is the matrix cell, empty outside a matrix.
	Cell string
	// Pairing is the containerd and runc the daemon runs under (a cached
	// build each), empty for the machine's. A matrix takes it from the
	// cell; a variant pinning a dockerd version gets its companions.
	Pairing Pairing
	// Expect and Why are what the variant must give on this build and why
	// (in a matrix, a breach exactly on the builds the variant's Affected
	// ranges name).
	Expect curve.Verdict
	Why    string
	// UserConfig is the user's configuration file the item judges
	// (regression mode), empty otherwise.
	UserConfig string
}

// Name is "incident/variant", or "incident/variant@cell" in a matrix: the
// item's name in tables and messages and its results directory.
func (it Item) Name() string {
	if it.Cell == "" {
		return it.Incident.ID + "/" + it.Variant.Name
	}
	return it.Incident.ID + "/" + it.Variant.Name + "@" + it.Cell
}

// Labels are the item's selection labels: the incident id, the runtime,
// the cell (in a matrix), "regression" (in regression mode), the variant's
// own and its guest marker's ("guest", "guest-check").
func (it Item) Labels() []string {
	l := []string{it.Incident.ID, string(it.Runtime)}
	if it.Cell != "" {
		l = append(l, it.Cell)
	}
	if it.UserConfig != "" {
		l = append(l, "regression")
	}
	if it.Alone() {
		l = append(l, AloneLabel)
	}
	l = append(l, it.Variant.Labels...)
	return append(l, it.Variant.Guest.Labels()...)
}

// AloneLabel marks the items that run with nothing beside them.
const AloneLabel = "alone"

// Alone says whether the item must have the machine to itself
// (Incident.Alone or Variant.Alone): a run with several jobs runs it after
// the others, one at a time.
func (it Item) Alone() bool { return it.Incident.Alone != "" || it.Variant.Alone != "" }

// Build is the runtime build the item runs, with its pairing (a cell's
// canonical name, e.g. "dockerd-28.5.2/containerd-2.1.9/runc-1.3.6"), or ""
// when it runs the binary found on PATH or named by RELAPSE_CONTAINERD/DOCKERD.
func (it Item) Build() string {
	if it.Variant.Sandbox.Version == "" {
		return ""
	}
	c := Cell{Runtime: it.Runtime, Version: it.Variant.Sandbox.Version, Runc: it.Pairing.Runc}
	if it.Runtime == runtime.Dockerd {
		c.Containerd = it.Pairing.Containerd
	}
	return c.String()
}

// CacheEntries are the runtime cache entries the item needs
// ($RELAPSE_CACHE/runtimes/<name>-<version>): its runtime's build and its
// pairing's, each fetched or built on its own by scripts/runtimes.sh.
func (it Item) CacheEntries() []string {
	var out []string
	if v := it.Variant.Sandbox.Version; v != "" {
		out = append(out, string(it.Runtime)+"-"+v)
	}
	if c := it.Pairing.Containerd; c != "" {
		out = append(out, "containerd-"+c)
	}
	if r := it.Pairing.Runc; r != "" {
		out = append(out, "runc-"+r)
	}
	return out
}

// Plan is everything one run does, in order.
type Plan struct {
	Items []Item
	// NotJudged lists, in regression mode, the selected incidents that no
	// runtime configuration can fix, each with the reason.
	NotJudged []string
}

// Builds are the runtime cache entries the plan's items need (runtimes
// and their containerd and runc), sorted by name and version: what
// scripts/runtimes.sh must fetch or build first.
func (p Plan) Builds() []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range p.Items {
		for _, b := range it.CacheEntries() {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, CompareCells)
	return out
}

// Cells are the matrix cells the plan's items run on, sorted: one nightly
// job each.
func (p Plan) Cells() []string {
	var out []string
	for _, it := range p.Items {
		if it.Cell != "" && !slices.Contains(out, it.Cell) {
			out = append(out, it.Cell)
		}
	}
	slices.SortFunc(out, CompareCells)
	return out
}

// CompareCells orders cell names by runtime, then by version, then by
// their qualifiers: containerd-1.6.20 before containerd-1.7.18 before
// containerd-2.0.14 before containerd-2.0.14/runc-1.3.6.
func CompareCells(a, b string) int {
	ha, qa, _ := strings.Cut(a, "/")
	hb, qb, _ := strings.Cut(b, "/")
	ka, va, _ := strings.Cut(ha, "-")
	kb, vb, _ := strings.Cut(hb, "-")
	return cmp.Or(strings.Compare(ka, kb), runtime.CompareVersions(va, vb), strings.Compare(qa, qb))
}

// NewPlan is the only selector in relapse: the Makefile, the suites, the
// CLI and the workflows all ask it what runs and what each run must show.
func NewPlan(cat incident.Catalog, f Filter) (Plan, error) {
	incidents := []incident.Incident(cat)
	if f.Incident != "" {
		in, err := cat.ByID(f.Incident)
		if err != nil {
			return Plan{}, err
		}
		incidents = []incident.Incident{in}
	}
	var p Plan
	switch {
	case f.Regression():
		if len(f.Runtimes) > 0 {
			return Plan{}, fmt.Errorf("a regression run judges your runtime with your configuration: give RELAPSE_CONTAINERD/RELAPSE_DOCKERD for the binary, not a runtimes matrix")
		}
		p = regressionPlan(incidents, f)
	case len(f.Runtimes) > 0:
		p = matrixPlan(incidents, f.Runtimes, f.Repin)
	default:
		for _, in := range incidents {
			for _, v := range in.Variants {
				it := Item{Incident: in, Variant: v, Runtime: in.RuntimeOf(v), Expect: v.Expect, Why: v.Why}
				if pin := v.Sandbox.Version; pin != "" {
					it.Pairing = Companions(it.Runtime, pin)
					// Validation keeps a pinned variant's Expect and
					// Affected in agreement; this names the range.
					it.Expect, it.Why = v.ExpectOn(pin)
				}
				p.Items = append(p.Items, it)
			}
		}
	}
	if f.Variant != "" {
		if err := knownVariant(incidents, f.Variant); err != nil {
			return Plan{}, err
		}
		p.Items = slices.DeleteFunc(p.Items, func(it Item) bool { return it.Variant.Name != f.Variant })
	}
	if f.Label != "" {
		all := p.Items
		p.Items = slices.DeleteFunc(slices.Clone(all), func(it Item) bool { return !slices.Contains(it.Labels(), f.Label) })
		if len(p.Items) == 0 && len(all) > 0 {
			return p, unknownLabelError(f.Label, all)
		}
	}
	if len(p.Items) == 0 {
		return p, emptyPlanError(f)
	}
	return p, nil
}

// matrixPlan runs every unpinned variant (every variant with repin) once
// on each cell of its runtime. A variant that declares where the incident
// lives (Affected) must breach on the cells inside those releases and hold
// on the others.
func matrixPlan(incidents []incident.Incident, cells []Cell, repin bool) Plan {
	var p Plan
	for _, c := range cells {
		for _, in := range incidents {
			for _, v := range in.Variants {
				if in.RuntimeOf(v) != c.Runtime || (v.Sandbox.Version != "" && !repin) {
					continue
				}
				pin := v.Sandbox.Version
				v.Sandbox.Version = c.Version
				it := Item{Incident: in, Variant: v, Runtime: c.Runtime, Cell: c.String(), Pairing: pairingOf(c)}
				it.Expect, it.Why = v.ExpectOn(c.Version)
				if pin != "" && pin != c.Version {
					it.Why = fmt.Sprintf("the workload and budgets of the variant pinned to %s, on %s (%s)", pin, c, it.Why)
				}
				p.Items = append(p.Items, it)
			}
		}
	}
	slices.SortStableFunc(p.Items, func(a, b Item) int {
		return cmp.Or(strings.Compare(a.Incident.ID, b.Incident.ID), strings.Compare(a.Variant.Name, b.Variant.Name), CompareCells(a.Cell, b.Cell))
	})
	return p
}

// regressionPlan runs each incident's regression variant on the user's
// configuration for its runtime; it must hold there.
func regressionPlan(incidents []incident.Incident, f Filter) Plan {
	var p Plan
	for _, in := range incidents {
		if in.Regression == "" {
			p.NotJudged = append(p.NotJudged, fmt.Sprintf("%s: %s", in.ID, cmp.Or(in.NotJudged, "no regression variant")))
			continue
		}
		v, _ := in.Variant(in.Regression)
		kind := in.RuntimeOf(v)
		file := f.ContainerdConfig
		if kind == runtime.Dockerd {
			file = f.DockerdConfig
		}
		if file == "" {
			p.NotJudged = append(p.NotJudged, fmt.Sprintf("%s: runs on %s, and no %s configuration was given", in.ID, kind, kind))
			continue
		}
		// The user's binary is judged, not a pinned build.
		v.Sandbox.Version = ""
		p.Items = append(p.Items, Item{
			Incident: in, Variant: v, Runtime: kind, Expect: curve.Hold, UserConfig: file,
			Why: fmt.Sprintf("your %s configuration must hold %s's budgets", kind, in.ID),
		})
	}
	return p
}

func knownVariant(incidents []incident.Incident, name string) error {
	var names []string
	for _, in := range incidents {
		for _, v := range in.Variants {
			if v.Name == name {
				return nil
			}
			names = append(names, v.Name)
		}
	}
	return fmt.Errorf("unknown variant %q; known variants: %s", name, strings.Join(names, ", "))
}

// unknownLabelError names the labels the selection had, so a typo in a
// label reads as one.
func unknownLabelError(label string, items []Item) error {
	var labels []string
	for _, it := range items {
		for _, l := range it.Labels() {
			if !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
	}
	slices.Sort(labels)
	return fmt.Errorf("no selected variant carries label %q; their labels: %s", label, strings.Join(labels, ", "))
}

func emptyPlanError(f Filter) error {
	switch {
	case f.Regression():
		return fmt.Errorf("nothing to judge: no selected incident has a regression variant for the configuration given")
	case len(f.Runtimes) > 0:
		var cells []string
		for _, c := range f.Runtimes {
			cells = append(cells, c.String())
		}
		return fmt.Errorf("nothing to run on %s: the selected variants pin their own versions or run on another runtime", strings.Join(cells, " "))
	}
	return fmt.Errorf("nothing selected")
}

// Environment variables a Ginkgo suite (and the Makefile behind it) selects
// its plan with; the CLI takes the same as flags.
const (
	EnvIncident   = "RELAPSE_INCIDENT"
	EnvVariant    = "RELAPSE_VARIANT"
	EnvRuntimes   = "RELAPSE_RUNTIMES"
	EnvRegression = "RELAPSE_REGRESSION"
)

// FilterFromEnv reads a plan's filter from the environment. The user's
// configuration files (RELAPSE_CONTAINERD_CONFIG, RELAPSE_DOCKERD_CONFIG)
// make it a regression run only with RELAPSE_REGRESSION=1, so a shell that
// happens to export them does not turn a reproduction into a judgement.
func FilterFromEnv(getenv func(string) string) (Filter, error) {
	f := Filter{Incident: getenv(EnvIncident), Variant: getenv(EnvVariant)}
	if list := getenv(EnvRuntimes); strings.TrimSpace(list) != "" {
		cells, err := ParseCells(list)
		if err != nil {
			return Filter{}, fmt.Errorf("%s=%q: %w", EnvRuntimes, list, err)
		}
		f.Runtimes = cells
	}
	if getenv(EnvRegression) == "1" {
		f.ContainerdConfig, f.DockerdConfig = getenv(runtime.EnvContainerdConfig), getenv(runtime.EnvDockerdConfig)
		if !f.Regression() {
			return Filter{}, fmt.Errorf("%s=1 judges your configuration: set %s and/or %s to its path", EnvRegression, runtime.EnvContainerdConfig, runtime.EnvDockerdConfig)
		}
	}
	return f, nil
}
