package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/relapse-dev/relapse/scenarios"
)

// runCheck validates an incident id before a long run starts, so `make
// reproduce INCIDENT=typo` fails in a second with the list of known ids
// instead of a Ginkgo run that selects nothing. No id means every incident.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "[ID]", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	switch {
	case len(pos) > 1:
		return usageError(fs, stderr, "takes at most one incident id, got %d: %q", len(pos), strings.Join(pos, " "))
	case len(pos) == 0 || pos[0] == "":
		ids := scenarios.IDs()
		if len(ids) == 0 {
			fmt.Fprintln(stderr, "relapse check: no incidents are registered")
			return exitFail
		}
		noun := "incidents"
		if len(ids) == 1 {
			noun = "incident"
		}
		fmt.Fprintf(stdout, "all %d %s: %s\n", len(ids), noun, strings.Join(ids, ", "))
		return exitOK
	}
	s, err := scenarios.ByID(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "relapse check: %v\n", err)
		return exitUsage
	}
	var vs []string
	for _, v := range s.Variants {
		vs = append(vs, fmt.Sprintf("%s (expect %s)", v.Name, v.Expect))
	}
	fmt.Fprintf(stdout, "%s on %s: %s\n", s.ID, s.Runtime, strings.Join(vs, ", "))
	return exitOK
}
