package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/workload"
)

// guestTimeScale is RELAPSE_TIME_SCALE in a guest: qemu's software
// emulation (TCG) runs a container's stop and start ~10x slower than the
// host, PHP ~100x; scripts/guest.sh's default.
const guestTimeScale = 20

// guestRun is the items of one kernel this machine does not run.
type guestRun struct {
	kernel engine.Kernel
	items  []engine.Item
}

// splitByKernel keeps the items this machine can run and groups the
// others by the kernel their cell names, in plan order.
func splitByKernel(items []engine.Item, h results.Host) (local []engine.Item, guests []guestRun) {
	for _, it := range items {
		k, ok := it.Kernel()
		if !ok || k.RunsOn(h) {
			local = append(local, it)
			continue
		}
		i := slices.IndexFunc(guests, func(g guestRun) bool { return g.kernel == k })
		if i < 0 {
			guests = append(guests, guestRun{kernel: k})
			i = len(guests) - 1
		}
		guests[i].items = append(guests[i].items, it)
	}
	return local, guests
}

// guestCommand is what runs g's items in a guest: scripts/guest.sh with
// g's kernel and cgroup mode, the runtime builds they need copied in, and
// the same `relapse run` selection restricted to g's cells, which the guest
// runs as its own.
func guestCommand(root string, g guestRun, sel selection, pos []string, resultsDir, runID string) (args, env []string) {
	var cells, builds []string
	var timeout time.Duration
	for _, it := range g.items {
		if !slices.Contains(cells, it.Cell) {
			cells = append(cells, it.Cell)
		}
		for _, b := range it.CacheEntries() {
			if !slices.Contains(builds, b) {
				builds = append(builds, b)
			}
		}
		timeout += it.TimeoutAt(guestTimeScale)
	}
	// Boot, and a cold disk build, on top of the items' own bounds.
	timeout += 15 * time.Minute
	args = []string{filepath.Join(root, "scripts", "guest.sh"), "-kernel", g.kernel.Release, "-cgroup", strconv.Itoa(g.kernel.Cgroup),
		"-time-scale", strconv.Itoa(guestTimeScale), "-timeout", strconv.Itoa(int(timeout.Seconds()))}
	if resultsDir != "" {
		args = append(args, "-results", resultsDir)
	}
	if runID != "" {
		args = append(args, "-run-id", runID+"-kernel-"+g.kernel.String())
	}
	args = append(args, "--", "bin/relapse", "run")
	args = append(args, pos...)
	for _, f := range []struct{ name, value string }{{"-variant", *sel.variant}, {"-label", *sel.label}} {
		if f.value != "" {
			args = append(args, f.name, f.value)
		}
	}
	args = append(args, "-runtimes", strings.Join(cells, " "))
	if len(builds) > 0 {
		env = append(env, "RELAPSE_GUEST_RUNTIMES="+strings.Join(builds, " "))
	}
	return args, env
}

// runGuests runs each group in its own guest, one after the other (each
// guest takes both cores), and reports whether every one passed. The
// guest's narration and table go to stderr; its results land in their own
// run directory (guest.sh names it).
func runGuests(ctx context.Context, guests []guestRun, sel selection, pos []string, resultsDir, runID string, stderr io.Writer, logf func(string, ...any)) bool {
	root, err := workload.FindRepoRoot(".")
	if err == nil {
		err = freshBinary(ctx, root, stderr)
	}
	if err != nil {
		logf("cells on other kernels cannot run: %v", err)
		return false
	}
	ok := true
	for _, g := range guests {
		if ctx.Err() != nil {
			return false
		}
		args, env := guestCommand(root, g, sel, pos, resultsDir, runID)
		logf("%d runs on kernel %s, cgroup v%d, which this machine does not run: in a qemu guest (bash %s)", len(g.items), g.kernel.Release, g.kernel.Cgroup, strings.Join(args, " "))
		start := time.Now()
		cmd := exec.CommandContext(ctx, "bash", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		// guest.sh stops qemu and removes its files on SIGTERM: on Ctrl-C,
		// and when this process dies without a word (SIGKILL).
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		cmd.WaitDelay = time.Minute
		if err := cmd.Run(); err != nil {
			logf("guest on kernel %s: %v after %s", g.kernel, err, time.Since(start).Round(time.Second))
			ok = false
			continue
		}
		logf("guest on kernel %s: ok in %s", g.kernel, time.Since(start).Round(time.Second))
	}
	return ok
}

// freshBinary builds bin/relapse, which the guest runs, unless this process
// is that binary: a stale one would run other code than the plan's.
func freshBinary(ctx context.Context, root string, stderr io.Writer) error {
	bin := filepath.Join(root, "bin", "relapse")
	if self, err := os.Executable(); err == nil {
		a, errA := filepath.EvalSymlinks(self)
		b, errB := filepath.EvalSymlinks(bin)
		if errA == nil && errB == nil && a == b {
			return nil
		}
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/relapse")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for the guest: %w", bin, err)
	}
	return nil
}
