package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/scenarios"
)

// selection is the flags `plan` and `run` share: what to run, on which
// builds, against which of the user's configurations.
type selection struct {
	variant, label, runtimes, containerdConfig, dockerdConfig *string
}

func selectionFlags(fs *flag.FlagSet) selection {
	return selection{
		variant:          fs.String("variant", "", "only the variant with this exact name"),
		label:            fs.String("label", "", "only the variants carrying this label (`relapse plan -json` lists them), e.g. guest or guest-check"),
		runtimes:         fs.String("runtimes", "", "a matrix: runtime builds, e.g. 'containerd-1.7.18 dockerd-20.10.5'; every unpinned variant runs once on each build of its runtime"),
		containerdConfig: fs.String("containerd-config", "", "regression mode: judge this containerd config.toml (your binary: RELAPSE_CONTAINERD)"),
		dockerdConfig:    fs.String("dockerd-config", "", "regression mode: judge this dockerd daemon.json (your binary: RELAPSE_DOCKERD)"),
	}
}

// plan turns the flags and the incident ids (none: every incident) into
// the plan, one incident's items after the other's in the order given;
// every mistake is one line naming what is wrong and what to write
// instead.
func (s selection) plan(args []string) (engine.Plan, error) {
	// An empty word is no id: `make reproduce INCIDENT=` may pass one.
	ids := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "" })
	if len(ids) <= 1 {
		return s.planOf(strings.Join(ids, ""))
	}
	var p engine.Plan
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return engine.Plan{}, fmt.Errorf("incident %s is named twice: give each id once", id)
		}
		seen[id] = true
		one, err := s.planOf(id)
		if err != nil {
			return engine.Plan{}, err
		}
		p.Items = append(p.Items, one.Items...)
		p.NotJudged = append(p.NotJudged, one.NotJudged...)
	}
	return p, nil
}

// planOf is the plan of one incident id, or of all of them for "".
func (s selection) planOf(id string) (engine.Plan, error) {
	f := engine.Filter{Incident: id, Variant: *s.variant, Label: *s.label}
	if strings.TrimSpace(*s.runtimes) != "" {
		cells, err := engine.ParseCells(*s.runtimes)
		if err != nil {
			return engine.Plan{}, fmt.Errorf("-runtimes: %w", err)
		}
		f.Runtimes = cells
	}
	for _, c := range []struct {
		path *string
		what string
	}{{s.containerdConfig, "containerd config.toml"}, {s.dockerdConfig, "dockerd daemon.json"}} {
		if *c.path == "" {
			continue
		}
		abs, err := filepath.Abs(*c.path)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return engine.Plan{}, fmt.Errorf("your %s %s: %v; give the path of the file to judge", c.what, *c.path, err)
		}
		*c.path = abs
	}
	f.ContainerdConfig, f.DockerdConfig = *s.containerdConfig, *s.dockerdConfig
	return engine.NewPlan(scenarios.All(), f)
}
