package scenario

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// EnvMatrix lists the runtime builds a matrix run measures, e.g.
// "containerd-1.6.20 containerd-1.7.18 containerd-2.0.14" (`make matrix
// RUNTIMES=...` sets it).
const EnvMatrix = "RELAPSE_MATRIX"

// Cell is one runtime build of a matrix run: every variant that runs on its
// kind of runtime is measured once on it, and all cells land in one report.
type Cell struct {
	Runtime runtime.Kind
	// Version names a cached build ($RELAPSE_CACHE/runtimes/<kind>-<version>,
	// put there by scripts/runtimes.sh, which `make matrix` runs).
	Version string
}

// String is the cell's name, "<runtime>-<version>", as written in RUNTIMES,
// result directories (<variant>@<cell>) and the runtimes cache.
func (c Cell) String() string { return string(c.Runtime) + "-" + c.Version }

// cellVersion is a release number as the build scripts take it and as
// runtime.Sandbox.Version reports it (no distribution suffix).
var cellVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// ParseCells reads a RUNTIMES list: cells separated by spaces or commas,
// each "<containerd|dockerd>-<version>". Duplicates and anything else are
// errors that say what a cell looks like.
func ParseCells(list string) ([]Cell, error) {
	var cells []Cell
	seen := map[Cell]bool{}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		kind, version, ok := strings.Cut(f, "-")
		c := Cell{Runtime: runtime.Kind(kind), Version: version}
		switch {
		case !ok || (c.Runtime != runtime.Containerd && c.Runtime != runtime.Dockerd):
			return nil, fmt.Errorf("runtime %q: want <containerd|dockerd>-<version>, e.g. containerd-1.7.18 or dockerd-20.10.5", f)
		case !cellVersion.MatchString(version):
			return nil, fmt.Errorf("runtime %q: version %q is not a release number (x.y.z) like 1.7.18 or 20.10.5", f, version)
		case seen[c]:
			return nil, fmt.Errorf("runtime %q is listed twice", f)
		}
		seen[c] = true
		cells = append(cells, c)
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("no runtimes listed: want e.g. %q", "containerd-1.6.20 containerd-1.7.18")
	}
	return cells, nil
}

// InCell returns the variants of s that a matrix measures on c: those that
// run on c's kind of runtime and do not pin a version of their own (a pinned
// variant is about that version; the matrix measures the others on every
// build instead). Each copy runs on c's build, records c as its cell and
// expects what it should on that version: a hold variant whose fix came
// later than c's version (FixedIn) must breach there.
func (s Scenario) InCell(c Cell) []Variant {
	var out []Variant
	for _, v := range s.Variants {
		if s.RuntimeOf(v) != c.Runtime || v.Sandbox.Version != "" {
			continue
		}
		v.Sandbox.Version = c.Version
		v.Cell = c.String()
		if v.Expect == curve.Hold && v.FixedIn != "" && runtime.CompareVersions(c.Version, v.FixedIn) < 0 {
			v.Expect = curve.Breach
			v.Why = fmt.Sprintf("%s predates the fix in %s: the incident is expected back", c, v.FixedIn)
		}
		out = append(out, v)
	}
	return out
}

// RegressionVariant is the variant whose workload and budgets judge a
// user's runtime in regression mode, with the verdict it must give there:
// hold. ok is false when the scenario declares none (its trigger is not
// something a runtime's configuration or version fixes).
func (s Scenario) RegressionVariant() (v Variant, ok bool) {
	if s.Regression == "" {
		return Variant{}, false
	}
	for _, v := range s.Variants {
		if v.Name == s.Regression {
			v.Expect = curve.Hold
			return v, true
		}
	}
	return Variant{}, false
}
