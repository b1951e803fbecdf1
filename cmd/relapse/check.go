package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/scenarios"
)

// runCheck validates what a long run is asked to do before it starts, so
// `make reproduce INCIDENT=typo`, `make matrix RUNTIMES=containerd-latest`
// or `make regression` without a config fail in a second saying what to
// write instead, not after builds or with a Ginkgo run that selects
// nothing. No id means every incident. With -runtimes it prints what a
// matrix runs in each cell and the verdict it must give there.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "[-runtimes LIST [-cells]] [-variant NAME] [-regression] [ID]", stderr)
	runtimes := fs.String("runtimes", "", "a matrix's runtime builds, e.g. 'containerd-1.7.18 dockerd-20.10.5': print each cell's variants and expected verdicts")
	cells := fs.Bool("cells", false, "with -runtimes: print only the cells that run something, space separated (what to build)")
	variant := fs.String("variant", "", "check that the selected incidents have this variant")
	regression := fs.Bool("regression", false, "check a regression run: which incidents are judged, on which configs ("+runtime.EnvContainerdConfig+", "+runtime.EnvDockerdConfig+")")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 1 {
		return usageError(fs, stderr, "takes at most one incident id, got %d: %q", len(pos), strings.Join(pos, " "))
	}
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	selected, code := selectIncidents(id, stderr)
	if code != exitOK {
		return code
	}
	out := stdout
	if *cells {
		out = io.Discard // only the cell list goes to stdout
	}
	describe(out, id, selected)
	if *variant != "" && !hasVariant(selected, *variant) {
		fmt.Fprintf(stderr, "relapse check: no incident selected (%s) has a variant %q; run `make list` for the variants\n", orAll(id), *variant)
		return exitUsage
	}
	switch {
	case *regression:
		return checkRegression(selected, id, stdout, stderr)
	case *runtimes != "":
		return checkMatrix(selected, id, *runtimes, *variant, *cells, stdout, stderr)
	case *cells:
		return usageError(fs, stderr, "-cells needs -runtimes")
	}
	return exitOK
}

// selectIncidents returns the incident named id, or all of them.
func selectIncidents(id string, stderr io.Writer) ([]scenario.Scenario, int) {
	if id == "" {
		all := scenarios.All()
		if len(all) == 0 {
			fmt.Fprintln(stderr, "relapse check: no incidents are registered")
			return nil, exitFail
		}
		return all, exitOK
	}
	s, err := scenarios.ByID(id)
	if err != nil {
		fmt.Fprintf(stderr, "relapse check: %v\n", err)
		return nil, exitUsage
	}
	return []scenario.Scenario{s}, exitOK
}

// describe prints one line: every incident id, or one incident's variants.
func describe(w io.Writer, id string, selected []scenario.Scenario) {
	if id == "" {
		noun := "incidents"
		if len(selected) == 1 {
			noun = "incident"
		}
		fmt.Fprintf(w, "all %d %s: %s\n", len(selected), noun, strings.Join(scenarios.IDs(), ", "))
		return
	}
	fmt.Fprintf(w, "%s on %s: %s\n", selected[0].ID, selected[0].Runtime, expectations(selected[0].Variants))
}

// expectations reads "unlimited (expect breach), default (expect hold)".
func expectations(vs []scenario.Variant) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%s (expect %s)", v.Name, v.Expect))
	}
	return strings.Join(parts, ", ")
}

func hasVariant(selected []scenario.Scenario, name string) bool {
	for _, s := range selected {
		if slices.ContainsFunc(s.Variants, func(v scenario.Variant) bool { return v.Name == name }) {
			return true
		}
	}
	return false
}

func orAll(id string) string {
	if id == "" {
		return "all incidents"
	}
	return id
}

// checkMatrix prints what runs in each cell (or, with cellsOnly, just the
// cells that run something) and fails when nothing would.
func checkMatrix(selected []scenario.Scenario, id, list, variant string, cellsOnly bool, stdout, stderr io.Writer) int {
	cells, err := scenario.ParseCells(list)
	if err != nil {
		fmt.Fprintf(stderr, "relapse check: RUNTIMES: %v\n", err)
		return exitUsage
	}
	total := 0
	var used []string
	for _, c := range cells {
		for _, s := range selected {
			vs := slices.DeleteFunc(s.InCell(c), func(v scenario.Variant) bool { return variant != "" && v.Name != variant })
			if len(vs) == 0 {
				continue
			}
			total += len(vs)
			if !slices.Contains(used, c.String()) {
				used = append(used, c.String())
			}
			if !cellsOnly {
				fmt.Fprintf(stdout, "  %s %s: %s\n", c, s.ID, expectations(vs))
			}
		}
	}
	if total == 0 {
		var kinds []string
		for _, s := range selected {
			for _, v := range s.Variants {
				if k := string(s.RuntimeOf(v)); !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
		}
		fmt.Fprintf(stderr, "relapse check: nothing of %s runs on %s: it runs on %s; add a cell such as %s-<version> to RUNTIMES\n",
			orAll(id), strings.Join(strings.Fields(list), " "), strings.Join(kinds, " and "), kinds[0])
		return exitUsage
	}
	if cellsOnly {
		fmt.Fprintln(stdout, strings.Join(used, " "))
		return exitOK
	}
	fmt.Fprintf(stdout, "matrix: %d variant runs on %d runtime builds\n", total, len(used))
	return exitOK
}

// checkRegression says which incidents a regression run judges, on which
// of the user's configs, and fails when it would judge nothing.
func checkRegression(selected []scenario.Scenario, id string, stdout, stderr io.Writer) int {
	configs := map[runtime.Kind]string{
		runtime.Containerd: runtime.EnvContainerdConfig,
		runtime.Dockerd:    runtime.EnvDockerdConfig,
	}
	judged := 0
	for _, s := range selected {
		v, ok := s.RegressionVariant()
		if !ok {
			fmt.Fprintf(stdout, "  %s: not judged in regression mode (no runtime configuration or version fixes it; `make reproduce INCIDENT=%s` shows it)\n", s.ID, s.ID)
			continue
		}
		kind := s.RuntimeOf(v)
		env := configs[kind]
		path := os.Getenv(env)
		if path == "" {
			fmt.Fprintf(stdout, "  %s: not judged: it runs on %s and no %s config was given (%s)\n", s.ID, kind, kind, env)
			continue
		}
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(stderr, "relapse check: %s=%s: %v; give the path of your %s config\n", env, path, err, kind)
			return exitUsage
		}
		judged++
		fmt.Fprintf(stdout, "  %s: judged on your %s with %s (%s's workload and budgets; must hold)\n", s.ID, kind, path, v.Name)
	}
	if judged == 0 {
		fmt.Fprintf(stderr, "relapse check: regression mode judges nothing of %s: give the config of the runtime it runs on (make regression CONTAINERD_CONFIG=<config.toml> or DOCKERD_CONFIG=<daemon.json>)\n", orAll(id))
		return exitUsage
	}
	return exitOK
}
