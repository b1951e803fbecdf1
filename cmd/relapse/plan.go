package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/relapse-dev/relapse/harness/engine"
)

// runPlan prints what `relapse run` with the same arguments would run and
// what each run must show, in a second and before any build, so a typo in
// an id, a variant or a runtime cell fails at once. -builds prints only the
// runtime builds the plan needs (what scripts/runtimes.sh fetches first:
// each cell's runtime, containerd and runc); -cells only the matrix cells
// that run something (the nightly's jobs); -json the plan for other tools.
func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plan", "[ID...] [-variant V] [-label L] [-runtimes CELLS] [-containerd-config F] [-dockerd-config F] [-builds|-cells|-json]", stderr)
	sel := selectionFlags(fs)
	builds := fs.Bool("builds", false, "print only the runtime builds the plan needs, space separated")
	cells := fs.Bool("cells", false, "print only the matrix cells that run something, space separated")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	p, err := sel.plan(pos)
	if err != nil {
		fmt.Fprintf(stderr, "relapse plan: %v\n", err)
		return exitUsage
	}
	switch {
	case *builds:
		fmt.Fprintln(stdout, strings.Join(p.Builds(), " "))
	case *cells:
		fmt.Fprintln(stdout, strings.Join(p.Cells(), " "))
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(planView(p)); err != nil {
			fmt.Fprintf(stderr, "relapse plan: %v\n", err)
			return exitFail
		}
	default:
		printPlan(stdout, p)
	}
	return exitOK
}

// planItem is one item of `relapse plan -json`.
type planItem struct {
	Name     string   `json:"name"`
	Incident string   `json:"incident"`
	Variant  string   `json:"variant"`
	Runtime  string   `json:"runtime"`
	Cell     string   `json:"cell,omitempty"`
	Build    string   `json:"build,omitempty"`
	Kernel   string   `json:"kernel,omitempty"`
	Expect   string   `json:"expect"`
	Why      string   `json:"why"`
	Labels   []string `json:"labels"`
	Config   string   `json:"user_config,omitempty"`
}

func planView(p engine.Plan) any {
	items := []planItem{}
	for _, it := range p.Items {
		kernel := ""
		if k, ok := it.Kernel(); ok {
			kernel = k.String()
		}
		items = append(items, planItem{
			Name: it.Name(), Incident: it.Incident.ID, Variant: it.Variant.Name, Runtime: string(it.Runtime),
			Cell: it.Cell, Build: it.Build(), Kernel: kernel, Expect: string(it.Expect), Why: it.Why, Labels: it.Labels(), Config: it.UserConfig,
		})
	}
	return struct {
		Items     []planItem `json:"items"`
		Builds    []string   `json:"builds"`
		NotJudged []string   `json:"not_judged,omitempty"`
	}{items, append([]string{}, p.Builds()...), p.NotJudged}
}

func printPlan(w io.Writer, p engine.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tON\tEXPECT\tWHY")
	for _, it := range p.Items {
		on := string(it.Runtime)
		switch {
		case it.Build() != "":
			on = it.Build()
		case it.UserConfig != "":
			on += " with " + it.UserConfig
		}
		if k, ok := it.Kernel(); ok {
			on += fmt.Sprintf(" on kernel %s, cgroup v%d", k.Release, k.Cgroup)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Name(), on, it.Expect, oneLine(it.Why))
	}
	tw.Flush()
	for _, n := range p.NotJudged {
		fmt.Fprintf(w, "not judged: %s\n", n)
	}
	fmt.Fprint(w, count(len(p.Items), "run"))
	if b := p.Builds(); len(b) > 0 {
		fmt.Fprintf(w, " on %s (%s)", count(len(b), "runtime build"), strings.Join(b, " "))
	}
	fmt.Fprintln(w)
}

// count is n and the noun, plural unless n is one.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
