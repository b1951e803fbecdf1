package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
	"github.com/relapse-dev/relapse/scenarios"
)

// runImages builds (or finds in the cache) the workload images of the given
// incidents, or of all of them, and prints each archive. A machine that
// cannot build them (a guest without network or Go module cache) is handed
// a cache filled here: scripts/guest.sh runs it on the host first.
func runImages(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("images", "[ID...]", stderr)
	ids, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	cat := scenarios.All()
	if len(ids) == 0 {
		ids = cat.IDs()
	}
	names := []incident.Image{engine.PauseImage}
	for _, id := range ids {
		in, err := cat.ByID(id)
		if err != nil {
			return usageError(fs, stderr, "%v", err)
		}
		for _, im := range in.Images {
			if !slices.Contains(names, im) {
				names = append(names, im)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		fmt.Fprintf(stderr, "relapse images: %v\n", err)
		return exitUsage
	}
	cache, err := runtime.CacheDir()
	if err != nil {
		fmt.Fprintf(stderr, "relapse images: %v\n", err)
		return exitUsage
	}
	for _, name := range names {
		img, err := workload.Build(ctx, root, cache, string(name))
		if err != nil {
			fmt.Fprintf(stderr, "relapse images: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s\t%s\n", img.Ref, img.Tar)
	}
	return exitOK
}
