package results

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostInfo describes this machine: kernel release (uname), cgroup version,
// hostname, CPUs and memory. A result set without it cannot be compared with
// another machine's.
func HostInfo() (Host, error) {
	var h Host
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return h, fmt.Errorf("host info: uname: %w", err)
	}
	h.Kernel = string(bytes.TrimRight(uts.Release[:], "\x00"))
	h.Hostname = string(bytes.TrimRight(uts.Nodename[:], "\x00"))
	v, err := cgroupVersion("/sys/fs/cgroup")
	if err != nil {
		return h, fmt.Errorf("host info: %w", err)
	}
	h.CgroupVersion = v
	h.CPUs = goruntime.NumCPU()
	mem, err := memTotal("/proc/meminfo")
	if err != nil {
		return h, fmt.Errorf("host info: %w", err)
	}
	h.MemTotal = mem
	return h, nil
}

// cgroupVersion is "v2" when the unified hierarchy is mounted at root (it
// has cgroup.controllers), else "v1" (including hybrid setups).
func cgroupVersion(root string) (string, error) {
	_, err := os.Stat(root + "/cgroup.controllers")
	switch {
	case err == nil:
		return "v2", nil
	case errors.Is(err, os.ErrNotExist):
		return "v1", nil
	default:
		return "", fmt.Errorf("cgroup version: %w", err)
	}
}

// memTotal reads MemTotal from a meminfo file, in bytes.
func memTotal(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("mem total: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("mem total: %s: unexpected line %q", path, sc.Text())
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("mem total: %s: %w", path, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("mem total: %s: %w", path, err)
	}
	return 0, fmt.Errorf("mem total: %s has no MemTotal line", path)
}
