package probe

import (
	"context"
	"fmt"

	"github.com/prometheus/procfs"
)

// Process reads a daemon's RSS, open fds and threads from procfs. The pid is
// looked up on every read, so the source follows a daemon across restarts;
// while it is down (pid 0 or gone) the sample is simply missing.
type Process struct {
	prefix string
	pid    func() int
	fs     procfs.FS
}

// NewProcess returns a process source whose metrics are named
// <prefix>_rss_bytes, <prefix>_fds and <prefix>_threads.
func NewProcess(prefix string, pid func() int) (*Process, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("process probe %s: %w", prefix, err)
	}
	return &Process{prefix: prefix, pid: pid, fs: fs}, nil
}

// Describe implements Source.
func (p *Process) Describe() []Desc {
	return []Desc{
		{Name: p.prefix + "_rss_bytes", Unit: "bytes"},
		{Name: p.prefix + "_fds", Unit: "fds"},
		{Name: p.prefix + "_threads", Unit: "threads"},
	}
}

// Collect implements Source.
func (p *Process) Collect(context.Context) (map[string]float64, error) {
	pid := p.pid()
	if pid <= 0 {
		return nil, nil
	}
	proc, err := p.fs.Proc(pid)
	if err != nil {
		return nil, nil // gone between pid lookup and read: a restart, not an error
	}
	stat, err := proc.Stat()
	if err != nil {
		return nil, nil
	}
	out := map[string]float64{
		p.prefix + "_rss_bytes": float64(stat.ResidentMemory()),
		p.prefix + "_threads":   float64(stat.NumThreads),
	}
	if n, err := proc.FileDescriptorsLen(); err == nil {
		out[p.prefix+"_fds"] = float64(n)
	}
	return out, nil
}
