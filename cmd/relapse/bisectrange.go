package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/bisect"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
	"github.com/relapse-dev/relapse/scenarios"
)

// releaseRange is the module proxy's containerd tags from good to bad:
// each is a cell (containerd-X.Y.Z) built by scripts/runtimes.sh, and
// NewPlan, told to repin the variant, plans the variant on every cell.
func releaseRange(ctx context.Context, base engine.Item, good, bad string, pre bool, stderr io.Writer, logf func(string, ...any)) (bisectRange, error) {
	if base.Runtime != runtime.Containerd {
		return bisectRange{}, fmt.Errorf("%s release builds: relapse builds containerd tags from the Go module proxy, and dockerd only as the Debian packages scripts/fetch-dockerd.sh knows, which bisect does not take yet; bisect a containerd variant", base.Runtime)
	}
	var listing []string
	for _, end := range []string{good, bad} {
		mod := bisect.Module(end)
		if slices.Contains(listing, end) || !strings.HasPrefix(end, "v") {
			continue
		}
		l, err := bisect.ListVersions(ctx, mod)
		if err != nil {
			return bisectRange{}, err
		}
		listing = append(listing, l...)
	}
	tags, err := bisect.Tags(listing, good, bad, pre)
	if err != nil {
		return bisectRange{}, err
	}
	cellOf := func(tag string) string { return string(runtime.Containerd) + "-" + strings.TrimPrefix(tag, "v") }
	var cells []engine.Cell
	for _, t := range tags {
		if c, err := engine.ParseCell(cellOf(t)); err == nil {
			cells = append(cells, c)
		}
	}
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{Incident: base.Incident.ID, Variant: base.Variant.Name, Runtimes: cells, Repin: true})
	if err != nil {
		return bisectRange{}, err
	}
	items := map[string]engine.Item{}
	for _, it := range p.Items {
		items[it.Cell] = it
	}
	return bisectRange{
		level:      "release",
		candidates: tags,
		build: func(ctx context.Context, tag string) (string, error) {
			cell := cellOf(tag)
			if _, ok := items[cell]; !ok {
				return "", fmt.Errorf("%s is not a release number scripts/build-containerd.sh builds", tag)
			}
			return cell, ensureBuilds(ctx, []string{cell}, stderr, logf)
		},
		item: func(_, cell string) (engine.Item, error) {
			it, ok := items[cell]
			if !ok {
				return it, fmt.Errorf("no plan item for %s", cell)
			}
			return it, nil
		},
	}, nil
}

// commitRange is a local clone's first-parent commits from good to bad,
// each exported and built by scripts/build-containerd.sh from its tree (the
// script that builds proxy tags), cached per commit.
func commitRange(ctx context.Context, base engine.Item, repo, good, bad, cache string, stderr io.Writer) (bisectRange, error) {
	if base.Runtime != runtime.Containerd {
		return bisectRange{}, fmt.Errorf("-repo: relapse builds containerd from a clone (scripts/build-containerd.sh), not %s; %s/%s runs on %s", base.Runtime, base.Incident.ID, base.Variant.Name, base.Runtime)
	}
	abs, err := filepath.Abs(repo)
	if err != nil {
		return bisectRange{}, err
	}
	commits, err := bisect.Commits(ctx, abs, good, bad)
	if err != nil {
		return bisectRange{}, err
	}
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		return bisectRange{}, err
	}
	script := filepath.Join(root, "scripts", "build-containerd.sh")
	return bisectRange{
		level:      "commit",
		candidates: commits,
		build: bisect.SourceBuilder{
			Repo: abs, Dir: filepath.Join(cache, "bisect-builds", "containerd"),
			Make: bisect.ScriptBuild(script, abs, stderr),
		}.Build,
		item: func(commit, build string) (engine.Item, error) {
			it := base
			it.Cell = string(runtime.Containerd) + "-" + bisect.Short(commit)
			it.Variant.Sandbox.Version = ""
			it.Variant.Sandbox.Binary = filepath.Join(build, string(runtime.Containerd))
			it.Why = fmt.Sprintf("the workload and budgets of the variant, on commit %s of %s (%s)", bisect.Short(commit), abs, base.Why)
			return it, nil
		},
	}, nil
}
