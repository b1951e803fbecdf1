package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/scenarios"
)

// runCheck validates an incident id (and a matrix's runtime list) before a
// long run starts, so `make reproduce INCIDENT=typo` or `make matrix
// RUNTIMES=containerd-latest` fails in a second with what to write instead
// of a Ginkgo run that selects nothing. No id means every incident. With
// -runtimes it prints what the matrix will run in each cell and expect.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "[-runtimes 'containerd-1.7.18 dockerd-20.10.5 ...'] [ID]", stderr)
	runtimes := fs.String("runtimes", "", "a matrix's runtime builds: print each cell's variants and expected verdicts")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	var selected []scenario.Scenario
	switch {
	case len(pos) > 1:
		return usageError(fs, stderr, "takes at most one incident id, got %d: %q", len(pos), strings.Join(pos, " "))
	case len(pos) == 0 || pos[0] == "":
		selected = scenarios.All()
		if len(selected) == 0 {
			fmt.Fprintln(stderr, "relapse check: no incidents are registered")
			return exitFail
		}
		noun := "incidents"
		if len(selected) == 1 {
			noun = "incident"
		}
		fmt.Fprintf(stdout, "all %d %s: %s\n", len(selected), noun, strings.Join(scenarios.IDs(), ", "))
	default:
		s, err := scenarios.ByID(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "relapse check: %v\n", err)
			return exitUsage
		}
		selected = []scenario.Scenario{s}
		var vs []string
		for _, v := range s.Variants {
			vs = append(vs, fmt.Sprintf("%s (expect %s)", v.Name, v.Expect))
		}
		fmt.Fprintf(stdout, "%s on %s: %s\n", s.ID, s.Runtime, strings.Join(vs, ", "))
	}
	if *runtimes == "" {
		return exitOK
	}
	cells, err := scenario.ParseCells(*runtimes)
	if err != nil {
		fmt.Fprintf(stderr, "relapse check: RUNTIMES: %v\n", err)
		return exitUsage
	}
	total := 0
	for _, c := range cells {
		for _, s := range selected {
			vs := s.InCell(c)
			if len(vs) == 0 {
				continue
			}
			var names []string
			for _, v := range vs {
				names = append(names, fmt.Sprintf("%s (expect %s)", v.Name, v.Expect))
			}
			total += len(vs)
			fmt.Fprintf(stdout, "  %s %s: %s\n", c, s.ID, strings.Join(names, ", "))
		}
	}
	if total == 0 {
		fmt.Fprintf(stderr, "relapse check: no variant of the selected incidents runs on %s\n", strings.TrimSpace(*runtimes))
		return exitUsage
	}
	fmt.Fprintf(stdout, "matrix: %d variant runs on %d runtime builds\n", total, len(cells))
	return exitOK
}
