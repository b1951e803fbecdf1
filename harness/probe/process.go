package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Process reads a daemon's RSS, open fds and threads from procfs.
//
// It holds the process' stat file and fd directory open and re-reads them at
// every sample (see keptFile): two syscalls a sample instead of a path walk,
// open, read and close for each. It holds the process pid named until that
// process exits (a read fails, or it is a zombie) and only then asks pid
// again, so it follows a daemon across restarts (a restart is a new
// process) without calling pid at every sample (a sandbox's
// ContainerdPID reads a pidfile and the process' stat to answer). While
// the daemon is down (pid 0 or gone) the sample is simply missing.
//
// Close releases the held files; a Collect after Close opens them again.
type Process struct {
	prefix string
	pid    func() int
	// root is where procfs is mounted: /proc, or a test's stand-in.
	root                          string
	rssName, fdsName, threadsName string
	pageSize                      float64

	holding holding[*heldProcess]
}

// NewProcess returns a process source whose metrics are named
// <prefix>_rss_bytes, <prefix>_fds and <prefix>_threads.
func NewProcess(prefix string, pid func() int) (*Process, error) {
	return newProcessAt("/proc", prefix, pid)
}

func newProcessAt(root, prefix string, pid func() int) (*Process, error) {
	if prefix == "" || pid == nil {
		return nil, errors.New("process probe: need a metric prefix and a pid function")
	}
	if _, err := os.Stat(filepath.Join(root, "self", "stat")); err != nil {
		return nil, fmt.Errorf("process probe %s: is procfs mounted at %s? %w", prefix, root, err)
	}
	return &Process{prefix: prefix, pid: pid, root: root,
		rssName: prefix + "_rss_bytes", fdsName: prefix + "_fds", threadsName: prefix + "_threads",
		pageSize: float64(os.Getpagesize())}, nil
}

// Describe implements Source.
func (p *Process) Describe() []Desc {
	return []Desc{
		{Name: p.rssName, Unit: "bytes"},
		{Name: p.fdsName, Unit: "fds"},
		{Name: p.threadsName, Unit: "threads"},
	}
}

// Collect implements Source.
func (p *Process) Collect(context.Context) (map[string]float64, error) {
	vals, err := p.holding.collect(p.pid,
		func(pid int) (*heldProcess, error) { return holdProcess(p.root, pid) },
		func(h *heldProcess) (map[string]float64, error) {
			st, fds, err := h.read()
			if err != nil {
				return nil, err
			}
			return map[string]float64{
				p.rssName:     float64(st.rssPages) * p.pageSize,
				p.fdsName:     float64(fds),
				p.threadsName: float64(st.threads),
			}, nil
		})
	if err != nil {
		return nil, fmt.Errorf("process probe %s: %w", p.prefix, err)
	}
	return vals, nil
}

// Close releases the held process' files.
func (p *Process) Close() error {
	p.holding.release()
	return nil
}

// heldProcess is one process' stat file and fd directory, held open.
type heldProcess struct {
	pid  int
	stat *keptFile
	fds  *keptDir
}

func holdProcess(root string, pid int) (*heldProcess, error) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	stat, err := openKept(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	fds, err := openKeptDir(filepath.Join(dir, "fd"))
	if err != nil {
		stat.close()
		return nil, err
	}
	h := &heldProcess{pid: pid, stat: stat, fds: fds}
	// Both must be the same process: had the pid been reused between the
	// two opens, the stat file, opened first, now fails.
	if _, err := h.stat.read(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// errZombie is the read of a process that has exited and not been reaped:
// its stat still reads, with no memory and one thread, which is no sample of
// the daemon.
var errZombie = fmt.Errorf("process is a zombie: %w", os.ErrNotExist)

// read returns the process' stat and its count of open fds.
func (h *heldProcess) read() (procStat, int, error) {
	b, err := h.stat.read()
	if err != nil {
		return procStat{}, 0, err
	}
	st, err := parseProcStat(b)
	if err != nil {
		return procStat{}, 0, fmt.Errorf("pid %d: %w", h.pid, err)
	}
	if st.state == 'Z' || st.state == 'X' {
		return procStat{}, 0, errZombie
	}
	n, err := h.fds.count()
	if err != nil {
		return procStat{}, 0, err
	}
	return st, n, nil
}

func (h *heldProcess) close() {
	if h != nil {
		h.stat.close()
		h.fds.close()
	}
}
