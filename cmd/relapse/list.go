package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/relapse-dev/relapse/scenarios"
)

// runList prints every incident: the id `make reproduce INCIDENT=` takes,
// the runtime, the variants with the verdict each must give, and the title.
func runList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("list", "", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError(fs, stderr, "takes no arguments, got %q", strings.Join(pos, " "))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRUNTIME\tVARIANTS\tTITLE")
	for _, in := range scenarios.All() {
		var vs []string
		for _, v := range in.Variants {
			vs = append(vs, fmt.Sprintf("%s (%s)", v.Name, v.Expect))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.ID, in.Runtime, strings.Join(vs, ", "), oneLine(in.Title))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "relapse list: %v\n", err)
		return exitFail
	}
	return exitOK
}
