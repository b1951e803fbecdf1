package diag

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// Defaults of Options.
const (
	DefaultStraceFor      = 3 * time.Second
	DefaultStraceMaxBytes = 16 << 20
	DefaultLogLines       = 500
	DefaultRequestTimeout = 5 * time.Second
	// ErrorsFile lists the pieces that could not be captured, and why.
	ErrorsFile = "diag-errors.txt"
)

// Options tune Collect. The zero value takes the defaults.
type Options struct {
	// StraceFor is how long strace follows each daemon; 0 means
	// DefaultStraceFor, negative skips strace.
	StraceFor time.Duration
	// StraceMaxBytes caps each strace output; 0 means DefaultStraceMaxBytes.
	// strace stops early once it is reached.
	StraceMaxBytes int64
	// LogLines is how many trailing log lines are kept; 0 means DefaultLogLines.
	LogLines int
	// RequestTimeout bounds each pprof request (a wedged daemon accepts the
	// connection and never answers); 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// SignalWait bounds the wait for a SIGUSR1 dump to appear; 0 means 2s.
	SignalWait time.Duration
}

func (o Options) withDefaults() Options {
	if o.StraceFor == 0 {
		o.StraceFor = DefaultStraceFor
	}
	if o.StraceMaxBytes == 0 {
		o.StraceMaxBytes = DefaultStraceMaxBytes
	}
	if o.LogLines == 0 {
		o.LogLines = DefaultLogLines
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.SignalWait == 0 {
		o.SignalWait = 2 * time.Second
	}
	return o
}

// Collect captures diagnostics of the sandbox's daemon (and, for dockerd,
// of the containerd it manages) into dir with the default Options. It has
// the signature of scenario.Runner.Diagnostics.
func Collect(ctx context.Context, sb runtime.Sandbox, dir string) ([]string, error) {
	return Options{}.Collect(ctx, sb, dir)
}

// Collect captures, for each daemon of the sandbox that runs (and, threads
// only, each shim of its containerd): its threads'
// kernel stacks, wait channels and states (first: they show the moment of
// the breach), a SIGUSR1 goroutine dump, a pprof goroutine dump (debug=2)
// and heap profile, StraceFor of strace; then the daemon log's tail. It
// returns the absolute paths written, diag-errors.txt among them when some
// piece failed. The error is non-nil only when dir cannot be written at all.
func (o Options) Collect(ctx context.Context, sb runtime.Sandbox, dir string) ([]string, error) {
	o = o.withDefaults()
	if sb == nil {
		return nil, errors.New("diagnostics: no sandbox")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("diagnostics: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("diagnostics: %w", err)
	}
	c := &collection{opts: o, dir: dir}
	targets := targetsOf(sb)

	// The threads' state first: it is what the daemon was doing when the
	// budget broke, before anything below disturbs it.
	for _, t := range targets {
		c.piece(t.name+" tasks", func() error { return c.tasks(t) })
	}
	// Signals next (a dump takes a moment to appear), then everything that
	// waits on the daemon concurrently, so a wedged API costs one timeout.
	var dumps []func()
	for _, t := range targets {
		if wait := c.signalDump(t); wait != nil {
			dumps = append(dumps, wait)
		}
	}
	var wg sync.WaitGroup
	for _, t := range targets {
		if t.pprofSocket != "" {
			wg.Go(func() {
				c.piece(t.name+" pprof goroutines", func() error {
					return c.pprof(ctx, t, "/debug/pprof/goroutine?debug=2", t.name+"-goroutines.txt")
				})
			})
			wg.Go(func() {
				c.piece(t.name+" pprof heap", func() error {
					return c.pprof(ctx, t, "/debug/pprof/heap", t.name+"-heap.pb.gz")
				})
			})
		} else if t.pprofMissing != "" {
			c.fail(t.name+" pprof", errors.New(t.pprofMissing))
		}
		if o.StraceFor > 0 && !t.shim {
			wg.Go(func() { c.piece(t.name+" strace", func() error { return c.strace(ctx, t) }) })
		}
	}
	for _, wait := range dumps {
		wg.Go(wait)
	}
	wg.Wait()
	c.piece(string(sb.Kind())+" log tail", func() error { return c.logTail(string(sb.Kind()), sb.LogPath()) })
	return c.finish()
}

// collection accumulates one Collect's files and failures.
type collection struct {
	opts Options
	dir  string

	mu    sync.Mutex
	files []string
	errs  []string
}

// piece runs one best-effort capture and records its failure.
func (c *collection) piece(name string, f func() error) {
	if err := f(); err != nil {
		c.fail(name, err)
	}
}

func (c *collection) fail(name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf("%s %s: %v", time.Now().Format(time.RFC3339Nano), name, err))
}

func (c *collection) add(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files = append(c.files, path)
}

// write writes data to name in dir and records it.
func (c *collection) write(name string, data []byte) error {
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	c.add(p)
	return nil
}

func (c *collection) finish() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		p := filepath.Join(c.dir, ErrorsFile)
		data := strings.Join(c.errs, "\n") + "\n"
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return c.sorted(), fmt.Errorf("diagnostics: writing %s: %w (failures: %s)", p, err, strings.Join(c.errs, "; "))
		}
		c.files = append(c.files, p)
	}
	if len(c.files) == 0 {
		return nil, fmt.Errorf("diagnostics: nothing could be written to %s", c.dir)
	}
	return c.sorted(), nil
}

func (c *collection) sorted() []string {
	out := append([]string(nil), c.files...)
	sort.Strings(out)
	return out
}
