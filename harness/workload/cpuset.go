package workload

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FirstCPUs is a cpuset list (e.g. "0,1") of the first n CPUs this process
// may run on, or all of them when it may use fewer. A workload pinned to
// it behaves alike on a 2-CPU runner and a 64-CPU node: the kernel keeps
// per-CPU state for a cgroup (memory charged ahead in batches, for one)
// only on the CPUs its tasks run on.
func FirstCPUs(n int) (string, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return "", fmt.Errorf("CPUs this process may use: %w", err)
	}
	var cpus []string
	for cpu := 0; len(cpus) < n && cpu < len(set)*64; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, strconv.Itoa(cpu))
		}
	}
	if len(cpus) == 0 {
		return "", fmt.Errorf("CPUs this process may use: the affinity mask is empty")
	}
	return strings.Join(cpus, ","), nil
}
