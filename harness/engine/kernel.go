package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/results"
)

// Kernel is a cell's kernel qualifier, "kernel-<release>-cgroup<N>" (e.g.
// containerd-1.6.20/kernel-6.12-cgroup2): the kernel line and the cgroup
// hierarchy the cell's variants must run on. A machine that runs another
// kernel cannot measure it; `relapse run` starts such cells in a qemu guest
// booted with that Debian kernel and cgroup mode (scripts/guest.sh), where
// they run as any other cell.
type Kernel struct {
	// Release is the kernel line, e.g. "6.1" (Debian bookworm's) or "6.12".
	Release string
	// Cgroup is the cgroup hierarchy: 1 or 2.
	Cgroup int
}

var kernelPattern = regexp.MustCompile(`^([0-9]+\.[0-9]+)-cgroup([12])$`)

// ParseKernel reads a kernel qualifier's value, e.g. "6.1-cgroup2".
func ParseKernel(v string) (Kernel, error) {
	m := kernelPattern.FindStringSubmatch(v)
	if m == nil {
		return Kernel{}, fmt.Errorf("kernel %q: want <major.minor>-cgroup<1|2>, e.g. 6.1-cgroup2 or 6.12-cgroup2 (the Debian kernels scripts/guest.sh boots)", v)
	}
	n, _ := strconv.Atoi(m[2])
	return Kernel{Release: m[1], Cgroup: n}, nil
}

// String is the qualifier's value, e.g. "6.1-cgroup2".
func (k Kernel) String() string { return fmt.Sprintf("%s-cgroup%d", k.Release, k.Cgroup) }

// RunsOn reports whether the machine h is this kernel: its release is of
// the line (6.1.0-47-amd64 is 6.1, 6.12.1 is not 6.1) and it mounts the
// cgroup hierarchy.
func (k Kernel) RunsOn(h results.Host) bool {
	line := h.Kernel == k.Release || strings.HasPrefix(h.Kernel, k.Release+".")
	return line && h.CgroupVersion == "v"+strconv.Itoa(k.Cgroup)
}

// Kernel is the kernel the item's cell names, if it names one.
func (it Item) Kernel() (Kernel, bool) {
	if it.Cell == "" {
		return Kernel{}, false
	}
	c, err := ParseCell(it.Cell)
	if err != nil || c.Kernel == "" {
		return Kernel{}, false
	}
	k, err := ParseKernel(c.Kernel)
	return k, err == nil
}

// checkKernel fails an item whose cell names a kernel this machine does
// not run, saying where it can run.
func checkKernel(it Item) error {
	k, ok := it.Kernel()
	if !ok {
		return nil
	}
	h, err := results.HostInfo()
	if err != nil {
		return err
	}
	if !k.RunsOn(h) {
		return fmt.Errorf("%s must run on kernel %s with cgroup v%d, and this machine runs %s with cgroup %s: `relapse run` starts such cells in a guest (scripts/guest.sh -kernel %s -cgroup %d)",
			it.Name(), k.Release, k.Cgroup, h.Kernel, h.CgroupVersion, k.Release, k.Cgroup)
	}
	return nil
}
