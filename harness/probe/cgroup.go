package probe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// CgroupVersion tells which cgroup hierarchy holds a memory cgroup. The two
// versions name the same quantities in different files.
type CgroupVersion int

const (
	// CgroupV1 is the legacy memory controller hierarchy
	// (/sys/fs/cgroup/memory/<path>).
	CgroupV1 CgroupVersion = 1
	// CgroupV2 is the unified hierarchy (/sys/fs/cgroup/<path>).
	CgroupV2 CgroupVersion = 2
)

// MemoryCgroup is where a process' memory is accounted: a container's pod
// memory, kmem included, is charged to it, so its files show growth that the
// process' own RSS does not (negative dentries, page cache).
type MemoryCgroup struct {
	// Version is the hierarchy Dir belongs to.
	Version CgroupVersion
	// Path is the cgroup's path as /proc/<pid>/cgroup names it.
	Path string
	// Dir is the cgroup's directory in the mounted cgroupfs.
	Dir string
}

// FindMemoryCgroup returns the memory cgroup of process pid, preferring the
// v1 memory hierarchy when the machine mounts one (hybrid setups keep memory
// there) and the unified v2 hierarchy otherwise.
func FindMemoryCgroup(pid int) (MemoryCgroup, error) {
	pfs, err := procfs.NewDefaultFS()
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("memory cgroup of pid %d: %w", pid, err)
	}
	mounts, err := pfs.GetMounts()
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("memory cgroup of pid %d: reading this process' mountinfo: %w", pid, err)
	}
	return findMemoryCgroup(pfs, mounts, pid)
}

func findMemoryCgroup(pfs procfs.FS, mounts []*procfs.MountInfo, pid int) (MemoryCgroup, error) {
	proc, err := pfs.Proc(pid)
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("memory cgroup of pid %d: %w", pid, err)
	}
	cgs, err := proc.Cgroups()
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("memory cgroup of pid %d: reading /proc/%d/cgroup: %w", pid, pid, err)
	}
	mc, err := resolveMemoryCgroup(cgs, mounts)
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("memory cgroup of pid %d: %w", pid, err)
	}
	return mc, nil
}

// resolveMemoryCgroup maps a process' cgroup membership onto the mounted
// cgroupfs. Split out from FindMemoryCgroup so it can be tested on fixtures.
func resolveMemoryCgroup(cgs []procfs.Cgroup, mounts []*procfs.MountInfo) (MemoryCgroup, error) {
	var v2path string
	haveV2 := false
	for _, cg := range cgs {
		if cg.HierarchyID == 0 && len(cg.Controllers) == 0 {
			v2path, haveV2 = cg.Path, true
			continue
		}
		if !slices.Contains(cg.Controllers, "memory") {
			continue
		}
		for _, m := range mounts {
			if m.FSType != "cgroup" {
				continue
			}
			if _, ok := m.SuperOptions["memory"]; !ok {
				continue
			}
			dir, err := cgroupDir(m, cg.Path)
			if err != nil {
				return MemoryCgroup{}, err
			}
			return MemoryCgroup{Version: CgroupV1, Path: cg.Path, Dir: dir}, nil
		}
		return MemoryCgroup{}, fmt.Errorf("in v1 memory cgroup %q but no cgroup v1 memory hierarchy is mounted here; mount it (e.g. on /sys/fs/cgroup/memory)", cg.Path)
	}
	if !haveV2 {
		return MemoryCgroup{}, errors.New("no memory controller in its cgroups (neither a v1 memory line nor a v2 0:: line); is the memory cgroup controller enabled?")
	}
	for _, m := range mounts {
		if m.FSType != "cgroup2" {
			continue
		}
		dir, err := cgroupDir(m, v2path)
		if err != nil {
			return MemoryCgroup{}, err
		}
		return MemoryCgroup{Version: CgroupV2, Path: v2path, Dir: dir}, nil
	}
	return MemoryCgroup{}, fmt.Errorf("in v2 cgroup %q but no cgroup2 filesystem is mounted here; mount it on /sys/fs/cgroup", v2path)
}

// cgroupDir joins a cgroup path onto the mount that shows it. A mount whose
// root is not the hierarchy's root (a namespaced mount) shows only paths
// below that root.
func cgroupDir(m *procfs.MountInfo, path string) (string, error) {
	rel := path
	if m.Root != "/" {
		r, ok := strings.CutPrefix(path, m.Root)
		if !ok || (r != "" && !strings.HasPrefix(r, "/")) {
			return "", fmt.Errorf("cgroup %q is outside the part of the hierarchy mounted at %s (mount root %q)", path, m.MountPoint, m.Root)
		}
		rel = r
	}
	return filepath.Join(m.MountPoint, filepath.FromSlash(rel)), nil
}

// CgroupMemoryStats are the memory cgroup values relapse budgets, read from
// whichever files the cgroup's version keeps them in.
type CgroupMemoryStats struct {
	// Usage is all memory charged to the cgroup, kmem included
	// (v1 memory.usage_in_bytes, v2 memory.current).
	Usage uint64
	// Kmem is kernel memory charged to the cgroup: slab (dentries, inodes),
	// kernel stacks, page tables (v1 memory.kmem.usage_in_bytes, v2
	// memory.stat kernel, or its parts on kernels before 5.18).
	Kmem uint64
	// RSS is anonymous memory (v1 memory.stat total_rss, v2 anon).
	RSS uint64
	// Cache is page cache (v1 memory.stat total_cache, v2 file).
	Cache uint64
	// Failcnt counts hits of the limit (v1 memory.failcnt, v2 memory.events
	// max).
	Failcnt uint64
	// OOMKills counts processes the OOM killer killed in the cgroup (v1
	// memory.oom_control oom_kill, v2 memory.events oom_kill).
	OOMKills uint64
}

// ReadCgroupMemory reads the stats of one memory cgroup.
func ReadCgroupMemory(cg MemoryCgroup) (CgroupMemoryStats, error) {
	return readCgroupMemory(cg, func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(cg.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading memory cgroup file: %w", err)
		}
		return b, nil
	})
}

// cgroupFileReader returns the current text of one of a memory cgroup's
// files, by name.
type cgroupFileReader func(name string) ([]byte, error)

// memoryCgroupFiles are the files readCgroupMemory reads, per version: the
// files a source holds open.
var memoryCgroupFiles = map[CgroupVersion][]string{
	CgroupV1: {"memory.usage_in_bytes", "memory.kmem.usage_in_bytes", "memory.failcnt", "memory.stat", "memory.oom_control"},
	CgroupV2: {"memory.current", "memory.stat", "memory.events"},
}

func readCgroupMemory(cg MemoryCgroup, read cgroupFileReader) (CgroupMemoryStats, error) {
	switch cg.Version {
	case CgroupV1:
		return readCgroupMemoryV1(cg.Dir, read)
	case CgroupV2:
		return readCgroupMemoryV2(cg.Dir, read)
	default:
		return CgroupMemoryStats{}, fmt.Errorf("memory cgroup %s: unknown cgroup version %d (want 1 or 2)", cg.Dir, cg.Version)
	}
}

func readCgroupMemoryV1(dir string, read cgroupFileReader) (CgroupMemoryStats, error) {
	var s CgroupMemoryStats
	var err error
	if s.Usage, err = readUintFile(dir, "memory.usage_in_bytes", read); err != nil {
		return s, err
	}
	if s.Kmem, err = readUintFile(dir, "memory.kmem.usage_in_bytes", read); err != nil {
		return s, err
	}
	if s.Failcnt, err = readUintFile(dir, "memory.failcnt", read); err != nil {
		return s, err
	}
	stat, err := read("memory.stat")
	if err != nil {
		return s, err
	}
	if s.RSS, err = need(stat, dir, "memory.stat", "total_rss"); err != nil {
		return s, err
	}
	if s.Cache, err = need(stat, dir, "memory.stat", "total_cache"); err != nil {
		return s, err
	}
	oom, err := read("memory.oom_control")
	if err != nil {
		return s, err
	}
	if s.OOMKills, err = need(oom, dir, "memory.oom_control", "oom_kill"); err != nil {
		return s, err
	}
	return s, nil
}

// v2KmemParts are the memory.stat keys that add up to kernel memory on
// kernels whose memory.stat has no "kernel" key yet (before 5.18).
var v2KmemParts = []string{"slab", "kernel_stack", "pagetables", "sec_pagetables", "percpu", "vmalloc"}

func readCgroupMemoryV2(dir string, read cgroupFileReader) (CgroupMemoryStats, error) {
	var s CgroupMemoryStats
	var err error
	if s.Usage, err = readUintFile(dir, "memory.current", read); err != nil {
		return s, err
	}
	stat, err := read("memory.stat")
	if err != nil {
		return s, err
	}
	k, found, err := keyedUint(stat, "kernel")
	switch {
	case err != nil:
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, "memory.stat"), err)
	case found:
		s.Kmem = k
	default:
		if _, found, _ := keyedUint(stat, "slab"); !found {
			return s, fmt.Errorf("%s: neither kernel nor slab in memory.stat; is this a memory cgroup directory?", filepath.Join(dir, "memory.stat"))
		}
		for _, key := range v2KmemParts {
			v, _, err := keyedUint(stat, key)
			if err != nil {
				return s, fmt.Errorf("%s: %w", filepath.Join(dir, "memory.stat"), err)
			}
			s.Kmem += v
		}
	}
	if s.RSS, err = need(stat, dir, "memory.stat", "anon"); err != nil {
		return s, err
	}
	if s.Cache, err = need(stat, dir, "memory.stat", "file"); err != nil {
		return s, err
	}
	events, err := read("memory.events")
	if err != nil {
		return s, err
	}
	if s.Failcnt, err = need(events, dir, "memory.events", "max"); err != nil {
		return s, err
	}
	if s.OOMKills, err = need(events, dir, "memory.events", "oom_kill"); err != nil {
		return s, err
	}
	return s, nil
}

// MemoryStat parses a memory cgroup's memory.stat (v1 or v2: both are
// "key value" lines), for diagnostics bundles and for values the Source does
// not export.
func MemoryStat(cgroupDir string) (map[string]uint64, error) {
	p := filepath.Join(cgroupDir, "memory.stat")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading memory cgroup file: %w", err)
	}
	m, err := parseKeyedUints(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// need is the value of key in a "key value" file's text, an error naming
// the file when the key is missing.
func need(text []byte, dir, file, key string) (uint64, error) {
	v, found, err := keyedUint(text, key)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, file), err)
	}
	if !found {
		return 0, fmt.Errorf("%s: no %q key; the kernel's %s lacks it", filepath.Join(dir, file), key, file)
	}
	return v, nil
}

func readUintFile(dir, name string, read cgroupFileReader) (uint64, error) {
	b, err := read(name)
	if err != nil {
		return 0, err
	}
	v, err := parseCgroupUint(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return v, nil
}

// parseCgroupUint parses a single-value cgroup file ("123\n").
func parseCgroupUint(b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one unsigned integer, got %q", bytes.TrimSpace(b))
	}
	return v, nil
}

// keyedUint finds key in "key value" lines (memory.stat, memory.events,
// memory.oom_control) and parses its value, without building a map of
// every line: a v1 memory.stat has about forty, of which a sample needs
// two.
func keyedUint(text []byte, key string) (v uint64, found bool, err error) {
	for n := 1; len(text) > 0; n++ {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		line = bytes.TrimSpace(line)
		i := bytes.IndexAny(line, " \t")
		if i < 0 || string(line[:i]) != key {
			continue
		}
		k, rest := line[:i], bytes.TrimSpace(line[i:])
		if bytes.IndexAny(rest, " \t") >= 0 {
			return 0, true, fmt.Errorf("line %d: want \"key value\", got %q", n, bytes.TrimSpace(line))
		}
		v, err := strconv.ParseUint(string(rest), 10, 64)
		if err != nil {
			return 0, true, fmt.Errorf("line %d: value of %s is not an unsigned integer: %q", n, k, rest)
		}
		return v, true, nil
	}
	return 0, false, nil
}

// parseKeyedUints parses every "key value" line of a file into a map.
func parseKeyedUints(b []byte) (map[string]uint64, error) {
	m := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"key value\", got %q", n, line)
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %s is not an unsigned integer: %q", n, f[0], f[1])
		}
		m[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
