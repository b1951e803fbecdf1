package engine

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestKernelQualifier(t *testing.T) {
	c, err := ParseCell("containerd-1.6.20/kernel-6.12-cgroup2")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Cell{Runtime: runtime.Containerd, Version: "1.6.20", Kernel: "6.12-cgroup2"}); c != want {
		t.Fatalf("parsed %+v, want %+v", c, want)
	}
	// Printed last, whatever the order written.
	c, err = ParseCell("dockerd-20.10.5/kernel-6.1-cgroup1/runc-1.3.6")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); got != "dockerd-20.10.5/runc-1.3.6/kernel-6.1-cgroup1" {
		t.Errorf("String() = %q", got)
	}
	for in, want := range map[string]string{
		"containerd-1.6.20/kernel-6.1":         `kernel "6.1": want <major.minor>-cgroup<1|2>`,
		"containerd-1.6.20/kernel-6.1-cgroup3": "want <major.minor>-cgroup<1|2>",
		"containerd-1.6.20/kernel-latest":      "e.g. 6.1-cgroup2",
	} {
		if _, err := ParseCell(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCell(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

func TestKernelRunsOn(t *testing.T) {
	k, err := ParseKernel("6.1-cgroup2")
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[results.Host]bool{
		{Kernel: "6.1.0-47-amd64", CgroupVersion: "v2"}:      true,
		{Kernel: "6.1.0-47-amd64", CgroupVersion: "v1"}:      false,
		{Kernel: "6.12.57+deb13-amd64", CgroupVersion: "v2"}: false, // 6.12 is not 6.1
		{Kernel: "6.18.0", CgroupVersion: "v2"}:              false,
	} {
		if got := k.RunsOn(h); got != want {
			t.Errorf("%s RunsOn %+v = %v, want %v", k, h, got, want)
		}
	}
}

// A plan on a kernel cell names the kernel in the item (results, tables)
// and keeps it out of the runtime builds, which are the same on any kernel.
func TestPlanOnKernelCell(t *testing.T) {
	cells, err := ParseCells("containerd-1.6.20/kernel-6.12-cgroup2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(catalog(t), Filter{Incident: "log", Runtimes: cells})
	if err != nil {
		t.Fatal(err)
	}
	it := p.Items[0]
	if it.Name() != "log/default@containerd-1.6.20/kernel-6.12-cgroup2" {
		t.Errorf("item %s", it.Name())
	}
	if k, ok := it.Kernel(); !ok || k != (Kernel{Release: "6.12", Cgroup: 2}) {
		t.Errorf("item kernel %+v, %v", k, ok)
	}
	if b := strings.Join(p.Builds(), " "); b != "containerd-1.6.20" {
		t.Errorf("builds %q, want containerd-1.6.20", b)
	}
	if b := it.Build(); b != "containerd-1.6.20" {
		t.Errorf("build %q", b)
	}
	// This machine runs no kernel "0.1": the engine refuses, naming the guest.
	other := it
	other.Cell = "containerd-1.6.20/kernel-0.1-cgroup2"
	if err := checkKernel(other); err == nil || !strings.Contains(err.Error(), "scripts/guest.sh -kernel 0.1 -cgroup 2") {
		t.Errorf("checkKernel on another kernel: %v", err)
	}
}
