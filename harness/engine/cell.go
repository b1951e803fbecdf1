package engine

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// Cell is one runtime build a matrix measures, with what it runs under:
//
//	<containerd|dockerd>-<x.y.z>[/containerd-<x.y.z>][/runc-<x.y.z>][/kernel-<x.y>-cgroup<N>]
//
// e.g. "containerd-2.3.5/runc-1.3.6", "dockerd-28.5.2/containerd-2.3.5" or
// "containerd-1.6.20/kernel-6.12-cgroup2" (kernel.go).
// The qualifiers after "/" are each "<name>-<value>", in any order when
// parsed and in the order of the qualifiers table when printed, so String is
// the canonical name and ParseCell(c.String()) == c. An unnamed qualifier
// means the default: a dockerd's companions (companions.go), the machine's
// runc for a containerd. The string form is the key of scripts/runtimes.sh
// and of results (<variant>@<cell>); the runtime cache holds each part on its
// own ($RELAPSE_CACHE/runtimes/<name>-<version>, see Item.Builds).
type Cell struct {
	Runtime runtime.Kind
	Version string
	// Containerd is the containerd a dockerd cell manages instead of its
	// release's companion; empty means the companion. Only for dockerd.
	Containerd string
	// Runc is the runc the daemon starts containers with; empty means the
	// dockerd's companion or, for containerd, the machine's runc.
	Runc string
	// Kernel is the kernel and cgroup mode the cell runs on (a Kernel's
	// string, e.g. "6.12-cgroup2"); empty means the machine's.
	Kernel string
}

// qualifier is one optional "/<name>-<value>" part of a cell. A new axis
// (e.g. a kernel) is one more entry and one more Cell field.
type qualifier struct {
	name string
	// field is where the value lives in a Cell.
	field func(*Cell) *string
	// check says why a value is wrong for the cell, or nil.
	check func(c Cell, value string) error
}

// qualifiers in the order String prints them.
func qualifiers() []qualifier {
	return []qualifier{
		{name: "containerd", field: func(c *Cell) *string { return &c.Containerd }, check: func(c Cell, v string) error {
			if c.Runtime != runtime.Dockerd {
				return fmt.Errorf("a containerd qualifier pairs a dockerd with another containerd; a %s cell names its version first", c.Runtime)
			}
			return checkRelease(v)
		}},
		{name: "runc", field: func(c *Cell) *string { return &c.Runc }, check: func(_ Cell, v string) error { return checkRelease(v) }},
		{name: "kernel", field: func(c *Cell) *string { return &c.Kernel }, check: func(_ Cell, v string) error {
			_, err := ParseKernel(v)
			return err
		}},
	}
}

// String is the cell's canonical name, e.g. "containerd-2.3.5/runc-1.3.6".
func (c Cell) String() string {
	s := string(c.Runtime) + "-" + c.Version
	for _, q := range qualifiers() {
		if v := *q.field(&c); v != "" {
			s += "/" + q.name + "-" + v
		}
	}
	return s
}

// release is a release number as the build scripts take it and as a
// sandbox reports its version (no distribution suffix).
var release = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func checkRelease(v string) error {
	if !release.MatchString(v) {
		return fmt.Errorf("version %q is not a release number (x.y.z) like 1.7.18 or 20.10.5", v)
	}
	return nil
}

// cellSyntax is what every ParseCell error shows.
const cellSyntax = "want <containerd|dockerd>-<version>[/containerd-<version>][/runc-<version>][/kernel-<x.y>-cgroup<1|2>], e.g. containerd-1.7.18, containerd-2.3.5/runc-1.3.6, dockerd-28.5.2 or containerd-1.6.20/kernel-6.12-cgroup2"

// ParseCell reads one cell, saying what a cell looks like when s is not one.
func ParseCell(s string) (Cell, error) {
	parts := strings.Split(s, "/")
	kind, version, ok := strings.Cut(parts[0], "-")
	c := Cell{Runtime: runtime.Kind(kind), Version: version}
	switch {
	case !ok || (c.Runtime != runtime.Containerd && c.Runtime != runtime.Dockerd):
		return Cell{}, fmt.Errorf("runtime %q: %s", s, cellSyntax)
	case checkRelease(version) != nil:
		return Cell{}, fmt.Errorf("runtime %q: %w", s, checkRelease(version))
	}
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(p, "-")
		q, known := findQualifier(name)
		if !known {
			return Cell{}, fmt.Errorf("runtime %q: unknown qualifier %q; %s", s, p, cellSyntax)
		}
		f := q.field(&c)
		if *f != "" {
			return Cell{}, fmt.Errorf("runtime %q names %s twice", s, name)
		}
		if err := q.check(c, value); err != nil {
			return Cell{}, fmt.Errorf("runtime %q: %s qualifier: %w", s, name, err)
		}
		*f = value
	}
	return c, nil
}

func findQualifier(name string) (qualifier, bool) {
	for _, q := range qualifiers() {
		if q.name == name {
			return q, true
		}
	}
	return qualifier{}, false
}

// ParseCells reads a RUNTIMES list: cells separated by spaces or commas.
// Duplicates are an error (also when they differ only in the order of their
// qualifiers); so is an empty list.
func ParseCells(list string) ([]Cell, error) {
	var cells []Cell
	seen := map[Cell]bool{}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		c, err := ParseCell(f)
		if err != nil {
			return nil, err
		}
		if seen[c] {
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
