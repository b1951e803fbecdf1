package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/procfs"
)

// CgroupMemorySource samples the memory cgroup of a process, e.g. a
// container's init, whose pod memory can climb to OOM on kmem alone while
// every process' RSS stays flat.
//
// Like Process it holds what it reads open (see keptFile): the process'
// stat file, which tells at every sample that the process is still the one
// whose cgroup was looked up (once it exits the read fails, however soon
// its PID is reused), and the cgroup's memory files. The cgroup is looked
// up again, from /proc/<pid>/cgroup, only when the held process is gone.
//
// Close releases the held files; a Collect after Close opens them again.
type CgroupMemorySource struct {
	prefix string
	pid    func() int
	// root is where procfs is mounted: /proc, or a test's stand-in.
	root   string
	fs     procfs.FS
	mounts []*procfs.MountInfo
	names  [6]string

	holding holding[*heldCgroup]
}

// CgroupMemory returns a source for the memory cgroup of the process pid
// names, looked up again whenever that process is gone (a restarted
// container). While pid is 0 or the process (a zombie included) or its
// cgroup is gone, samples are missing. Metrics: <prefix>_usage_bytes,
// _kmem_bytes, _rss_bytes, _cache_bytes, _failcnt, _oom_kills.
func CgroupMemory(prefix string, pid func() int) (*CgroupMemorySource, error) {
	return cgroupMemoryAt("/proc", prefix, pid)
}

func cgroupMemoryAt(root, prefix string, pid func() int) (*CgroupMemorySource, error) {
	if prefix == "" || pid == nil {
		return nil, errors.New("cgroup memory probe: need a metric prefix and a pid function")
	}
	pfs, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("cgroup memory probe %s: %w", prefix, err)
	}
	// The cgroupfs mounts of the harness' own mount namespace do not change
	// during a run; read them once.
	self, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("cgroup memory probe %s: %w", prefix, err)
	}
	mounts, err := self.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("cgroup memory probe %s: reading mountinfo: %w", prefix, err)
	}
	c := &CgroupMemorySource{prefix: prefix, pid: pid, root: root, fs: pfs, mounts: mounts}
	for i, d := range c.Describe() {
		c.names[i] = d.Name
	}
	return c, nil
}

// Describe implements Source.
func (c *CgroupMemorySource) Describe() []Desc {
	return []Desc{
		{Name: c.prefix + "_usage_bytes", Unit: "bytes"},
		{Name: c.prefix + "_kmem_bytes", Unit: "bytes"},
		{Name: c.prefix + "_rss_bytes", Unit: "bytes"},
		{Name: c.prefix + "_cache_bytes", Unit: "bytes"},
		{Name: c.prefix + "_failcnt", Unit: "events"},
		{Name: c.prefix + "_oom_kills", Unit: "kills"},
	}
}

// Cgroup returns the memory cgroup of the current pid, as Collect reads it.
func (c *CgroupMemorySource) Cgroup() (MemoryCgroup, error) {
	pid := c.pid()
	if pid <= 0 {
		return MemoryCgroup{}, fmt.Errorf("cgroup memory probe %s: no process (pid %d)", c.prefix, pid)
	}
	mc, err := findMemoryCgroup(c.fs, c.mounts, pid)
	if err != nil {
		return MemoryCgroup{}, fmt.Errorf("cgroup memory probe %s: %w", c.prefix, err)
	}
	return mc, nil
}

// Collect implements Source.
func (c *CgroupMemorySource) Collect(context.Context) (map[string]float64, error) {
	vals, err := c.holding.collect(c.pid, c.hold, func(h *heldCgroup) (map[string]float64, error) {
		s, err := h.read()
		if err != nil {
			return nil, err
		}
		return map[string]float64{
			c.names[0]: float64(s.Usage),
			c.names[1]: float64(s.Kmem),
			c.names[2]: float64(s.RSS),
			c.names[3]: float64(s.Cache),
			c.names[4]: float64(s.Failcnt),
			c.names[5]: float64(s.OOMKills),
		}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup memory probe %s: %w", c.prefix, err)
	}
	return vals, nil
}

// Close releases the held files.
func (c *CgroupMemorySource) Close() error {
	c.holding.release()
	return nil
}

// hold opens process pid's stat file, then looks up its cgroup and opens
// the cgroup's files. Opening the stat file first binds the lookup to that
// process: had the pid been reused before the lookup, the first read fails.
func (c *CgroupMemorySource) hold(pid int) (*heldCgroup, error) {
	stat, err := openKept(filepath.Join(c.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	h := &heldCgroup{proc: stat}
	if h.cg, err = findMemoryCgroup(c.fs, c.mounts, pid); err != nil {
		h.close()
		return nil, err
	}
	if h.files, err = holdCgroupFiles(h.cg); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// holdCgroupFiles opens the memory files of cg that a sample reads.
func holdCgroupFiles(cg MemoryCgroup) (map[string]*keptFile, error) {
	files := map[string]*keptFile{}
	for _, name := range memoryCgroupFiles[cg.Version] {
		f, err := openKept(filepath.Join(cg.Dir, name))
		if err != nil {
			for _, f := range files {
				f.close()
			}
			if _, serr := os.Stat(cg.Dir); serr != nil {
				return nil, serr // the cgroup went away with its container
			}
			// A file missing from a cgroup that is there is the kernel's
			// configuration (e.g. no kmem accounting): an error to show,
			// so %v: wrapped, its ENOENT would read as a cgroup gone.
			return nil, fmt.Errorf("reading memory cgroup file: %v", err)
		}
		files[name] = f
	}
	return files, nil
}

// heldCgroup is a process' stat file and its memory cgroup's files, held
// open.
type heldCgroup struct {
	proc  *keptFile
	cg    MemoryCgroup
	files map[string]*keptFile
}

// read checks that the process is still there and reads the cgroup.
func (h *heldCgroup) read() (CgroupMemoryStats, error) {
	b, err := h.proc.read()
	if err != nil {
		return CgroupMemoryStats{}, err
	}
	if st, ok := statField(b, 3); ok && len(st) == 1 && (st[0] == 'Z' || st[0] == 'X') {
		return CgroupMemoryStats{}, errZombie
	}
	return readCgroupMemory(h.cg, func(name string) ([]byte, error) {
		f, ok := h.files[name]
		if !ok {
			return nil, fmt.Errorf("memory cgroup file %s is not held", name)
		}
		b, err := f.read()
		if err != nil {
			return nil, fmt.Errorf("reading memory cgroup file: %w", err)
		}
		return b, nil
	})
}

func (h *heldCgroup) close() {
	if h == nil {
		return
	}
	h.proc.close()
	for _, f := range h.files {
		f.close()
	}
}
