package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/scenarios"
)

// A cell naming a kernel this machine does not run goes to a guest with
// that kernel and cgroup mode, running the same selection on those cells
// only; the machine's own cells stay here.
func TestKernelCellsGoToAGuest(t *testing.T) {
	cells, err := engine.ParseCells("containerd-1.6.20 containerd-1.6.20/kernel-6.12-cgroup2 containerd-1.6.20/kernel-6.1-cgroup2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{Incident: "containerd-huge-log-line", Variant: "default", Runtimes: cells})
	if err != nil {
		t.Fatal(err)
	}
	host := results.Host{Kernel: "6.1.0-47-amd64", CgroupVersion: "v1"}
	local, guests := splitByKernel(p.Items, host)
	if len(local) != 1 || local[0].Cell != "containerd-1.6.20" {
		t.Fatalf("local items %v, want the unqualified cell only", local)
	}
	var kernels []string
	for _, g := range guests {
		kernels = append(kernels, g.kernel.String())
	}
	if strings.Join(kernels, " ") != "6.1-cgroup2 6.12-cgroup2" {
		t.Fatalf("guests on %v, want 6.1-cgroup2 6.12-cgroup2 in plan order (6.1 on cgroup v1 is not 6.1 on v2)", kernels)
	}
	sel := selectionFlags(flag.NewFlagSet("t", flag.ContinueOnError))
	*sel.variant = "default"
	args, env := guestCommand("/repo", guests[1], sel, []string{"containerd-huge-log-line"}, "/res", "nightly")
	got := strings.Join(args, " ")
	for _, want := range []string{
		"/repo/scripts/guest.sh -kernel 6.12 -cgroup 2 -time-scale 20 -timeout ",
		" -results /res -run-id nightly-kernel-6.12-cgroup2 -- bin/relapse run containerd-huge-log-line -variant default -runtimes containerd-1.6.20/kernel-6.12-cgroup2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("guest command %q lacks %q", got, want)
		}
	}
	if strings.Join(env, " ") != "RELAPSE_GUEST_RUNTIMES=containerd-1.6.20" {
		t.Errorf("guest env %v, want the cell's build copied in", env)
	}
	// The same machine on the cell's kernel runs it itself.
	if local, guests := splitByKernel(p.Items, results.Host{Kernel: "6.1.0-47-amd64", CgroupVersion: "v2"}); len(local) != 2 || len(guests) != 1 {
		t.Errorf("on 6.1 cgroup v2: %d local, %d guests; want 2 and 1", len(local), len(guests))
	}
}
