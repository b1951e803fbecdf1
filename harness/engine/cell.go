package engine

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// Cell is one runtime build: "<containerd|dockerd>-<x.y.z>". A matrix
// measures every variant of that runtime on it; a variant that pins a
// version needs its cell built too. The string form is the key of the
// runtime cache ($RELAPSE_CACHE/runtimes/<cell>), of scripts/runtimes.sh and
// of results (<variant>@<cell>).
type Cell struct {
	Runtime runtime.Kind
	Version string
}

// String is the cell's name, e.g. "containerd-1.7.18".
func (c Cell) String() string { return string(c.Runtime) + "-" + c.Version }

// release is a release number as the build scripts take it and as a
// sandbox reports its version (no distribution suffix).
var release = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// ParseCell reads one cell, saying what a cell looks like when s is not one.
func ParseCell(s string) (Cell, error) {
	kind, version, ok := strings.Cut(s, "-")
	c := Cell{Runtime: runtime.Kind(kind), Version: version}
	switch {
	case !ok || (c.Runtime != runtime.Containerd && c.Runtime != runtime.Dockerd):
		return Cell{}, fmt.Errorf("runtime %q: want <containerd|dockerd>-<version>, e.g. containerd-1.7.18 or dockerd-20.10.5", s)
	case !release.MatchString(version):
		return Cell{}, fmt.Errorf("runtime %q: version %q is not a release number (x.y.z) like 1.7.18 or 20.10.5", s, version)
	}
	return c, nil
}

// ParseCells reads a RUNTIMES list: cells separated by spaces or commas.
// Duplicates are an error; so is an empty list.
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
