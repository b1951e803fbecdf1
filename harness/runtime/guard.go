package runtime

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// DefaultGuardInterval is how often the memory guard reads a daemon's RSS.
// Incidents grow memory at hundreds of MB/s; at 50ms the guard overshoots
// its limit by tens of MB at most.
const DefaultGuardInterval = 50 * time.Millisecond

// Guard watches the RSS of one process and SIGKILLs it past a limit, so a
// reproduced memory explosion ends with a verdict instead of taking the
// machine. The process is named by a func so the guard follows a daemon
// across restarts (and dockerd and containerd share it).
type Guard struct {
	name     string
	pid      func() int
	interval time.Duration
	logf     func(string, ...any)
	fs       procfs.FS

	mu     sync.Mutex
	report GuardReport

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// StartGuard starts watching pid() every interval (0 means
// DefaultGuardInterval) against limit bytes of RSS (0 means
// DefaultMemoryLimit). pid returning 0 means the process is down. Stop ends
// the watch.
func StartGuard(name string, pid func() int, limit uint64, interval time.Duration, logf func(string, ...any)) (*Guard, error) {
	if limit == 0 {
		limit = DefaultMemoryLimit
	}
	if interval <= 0 {
		interval = DefaultGuardInterval
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("memory guard %s: %w", name, err)
	}
	g := &Guard{
		name: name, pid: pid, interval: interval, logf: logf, fs: fs,
		report: GuardReport{Name: name, Limit: limit},
		stop:   make(chan struct{}), done: make(chan struct{}),
	}
	go g.run()
	return g, nil
}

func (g *Guard) run() {
	defer close(g.done)
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		g.check()
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

// check reads the RSS once and kills the process if it is past the limit.
func (g *Guard) check() {
	pid := g.pid()
	if pid <= 0 {
		return
	}
	p, err := g.fs.Proc(pid)
	if err != nil {
		return // gone between the pid lookup and the read
	}
	st, err := p.Stat()
	if err != nil {
		return
	}
	rss := uint64(st.ResidentMemory())
	g.mu.Lock()
	if rss > g.report.PeakRSS {
		g.report.PeakRSS = rss
	}
	limit := g.report.Limit
	g.mu.Unlock()
	if rss <= limit {
		return
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		g.logf("memory guard: %s (pid %d) RSS %d MiB > limit %d MiB, SIGKILL failed: %v", g.name, pid, rss>>20, limit>>20, err)
		return
	}
	at := time.Now()
	g.mu.Lock()
	g.report.Fired = true
	g.report.At = at
	g.mu.Unlock()
	g.logf("memory guard: SIGKILLed %s (pid %d): RSS %d MiB > limit %d MiB", g.name, pid, rss>>20, limit>>20)
}

// Report returns what the guard has seen so far.
func (g *Guard) Report() GuardReport {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.report
}

// Stop ends the watch and waits for the watcher to return. Safe to call twice.
func (g *Guard) Stop() {
	g.once.Do(func() { close(g.stop) })
	<-g.done
}
