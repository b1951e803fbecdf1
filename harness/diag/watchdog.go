package diag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Watchdog timing: RSS is read every watchEvery (a daemon growing 700 MB/s
// reaches the memory guard within 3 s, so the sampler's 100 ms, or worse
// when another probe blocks on the wedged API, loses the shape), the API is
// pinged at most every pingEvery with pingTimeout each: a daemon that has
// its socket listening but is still inside NewDaemon accepts the connection
// and never answers.
const (
	watchEvery  = 50 * time.Millisecond
	pingEvery   = 250 * time.Millisecond
	pingTimeout = 200 * time.Millisecond
	// rateWindow is the span the growth rate is measured over.
	rateWindow = time.Second
	// rateWarmup of a process' life is left out of its growth rate: a Go
	// daemon maps its first tens of MB there (dockerd 20.10: 0 -> ~60 MiB
	// in 0.25 s), which is start-up, not growth.
	rateWarmup = time.Second
)

// Watchdog watches a daemon start: whether its current process runs, how
// long it has run without its API answering, and the peak and peak growth
// rate of its RSS. It is a probe.Source whose Collect never blocks (a
// background loop does the reading), so a wedged API cannot stall the
// sampler through it. Metrics, for prefix "dockerd":
//
//	dockerd_api_wait_s            seconds since the current process started
//	                              without its API answering; 0 once it has
//	                              answered, and while no process runs
//	dockerd_up                    1 while a process runs, 0 after it exited
//	dockerd_rss_peak_bytes        largest RSS seen since the watchdog started
//	dockerd_rss_rate_peak_bytes_per_s
//	                              largest RSS growth over any 1 s window
//	                              after a process' first second
//
// A Ceiling budget of 30 on dockerd_api_wait_s is a hang verdict, one on
// dockerd_rss_peak_bytes a startup-memory verdict that does not depend on
// the sampler catching a daemon the memory guard kills within seconds.
type Watchdog struct {
	prefix string
	pid    func() int
	ping   func(ctx context.Context) error
	fs     procfs.FS

	mu       sync.Mutex
	cur      int       // pid being watched
	started  time.Time // its start time
	answered bool      // its API has answered
	up       bool
	peak     uint64
	ratePeak float64
	hist     []rssAt // RSS samples of the current process within rateWindow

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type rssAt struct {
	t   time.Time
	rss uint64
}

var _ probe.Source = (*Watchdog)(nil)

// NewWatchdog starts watching the process pid() names (0: down), pinging
// its API with ping (which must honour its ctx). Close stops it.
func NewWatchdog(prefix string, pid func() int, ping func(ctx context.Context) error) (*Watchdog, error) {
	if prefix == "" || pid == nil || ping == nil {
		return nil, errors.New("watchdog: need a metric prefix, a pid func and a ping func")
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("watchdog %s: %w", prefix, err)
	}
	w := &Watchdog{prefix: prefix, pid: pid, ping: ping, fs: fs,
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// NewDockerdWatchdog watches a dockerd sandbox: GET /_ping on its socket.
func NewDockerdWatchdog(sb runtime.Sandbox) (*Watchdog, error) {
	if sb == nil || sb.Kind() != runtime.Dockerd {
		return nil, errors.New("dockerd watchdog: want a dockerd sandbox")
	}
	return NewWatchdog("dockerd", sb.PID, PingUnix(sb.Address(), "/_ping"))
}

// PingUnix returns a ping that GETs path over the unix socket and wants
// 200 OK.
func PingUnix(socket, path string) func(ctx context.Context) error {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://daemon"+path, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s on %s: %s", path, socket, resp.Status)
		}
		return nil
	}
}

// DialUnix returns a ping that succeeds once something accepts
// connections on the unix socket: the most a gRPC daemon (containerd)
// offers without a client library.
func DialUnix(socket string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", socket)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// Describe implements probe.Source.
func (w *Watchdog) Describe() []probe.Desc {
	return []probe.Desc{
		{Name: w.prefix + "_api_wait_s", Unit: "seconds"},
		{Name: w.prefix + "_up", Unit: "up"},
		{Name: w.prefix + "_rss_peak_bytes", Unit: "bytes"},
		{Name: w.prefix + "_rss_rate_peak_bytes_per_s", Unit: "bytes/s"},
	}
}

// Collect implements probe.Source; it returns what the loop saw last.
func (w *Watchdog) Collect(context.Context) (map[string]float64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.valuesLocked(time.Now()), nil
}

func (w *Watchdog) valuesLocked(now time.Time) map[string]float64 {
	wait, up := 0.0, 0.0
	if w.up {
		up = 1
		if !w.answered {
			wait = now.Sub(w.started).Seconds()
		}
	}
	return map[string]float64{
		w.prefix + "_api_wait_s":                wait,
		w.prefix + "_up":                        up,
		w.prefix + "_rss_peak_bytes":            float64(w.peak),
		w.prefix + "_rss_rate_peak_bytes_per_s": w.ratePeak,
	}
}

// APIWait is how long the current process has run without its API
// answering (0 once it answered or while down), for a stimulus that acts
// on a hang while it lasts.
func (w *Watchdog) APIWait() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.up || w.answered {
		return 0
	}
	return time.Since(w.started)
}

// Answered says whether the current process' API has answered.
func (w *Watchdog) Answered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.up && w.answered
}

// Close stops the watch. Safe to call twice; it has the signature of an
// Env.Defer cleanup.
func (w *Watchdog) Close(context.Context) error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

func (w *Watchdog) run() {
	defer close(w.done)
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	var lastPing time.Time
	for {
		now := time.Now()
		pid := w.pid()
		w.observe(pid, now)
		if pid > 0 && !w.isAnswered() && now.Sub(lastPing) >= pingEvery {
			lastPing = now
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			err := w.ping(ctx)
			cancel()
			if err == nil {
				w.mu.Lock()
				if w.cur == pid {
					w.answered = true
				}
				w.mu.Unlock()
			}
		}
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

func (w *Watchdog) isAnswered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.answered
}

// observe reads the process' state and RSS once.
func (w *Watchdog) observe(pid int, now time.Time) {
	var st procfs.ProcStat
	alive := false
	if pid > 0 {
		if p, err := w.fs.Proc(pid); err == nil {
			if s, err := p.Stat(); err == nil && s.State != "Z" && s.State != "X" {
				st, alive = s, true
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !alive {
		w.up = false
		return
	}
	rss := uint64(st.ResidentMemory())
	if pid != w.cur {
		w.cur, w.answered, w.hist = pid, false, nil
		w.started = now
		if start, err := processStart(st, now); err == nil && !start.After(now) {
			w.started = start
		}
	}
	w.up = true
	if rss > w.peak {
		w.peak = rss
	}
	if now.Sub(w.started) < rateWarmup {
		return
	}
	w.hist = append(w.hist, rssAt{now, rss})
	for len(w.hist) > 1 && now.Sub(w.hist[1].t) >= rateWindow {
		w.hist = w.hist[1:]
	}
	if first := w.hist[0]; now.Sub(first.t) >= rateWindow*9/10 && rss > first.rss {
		rate := float64(rss-first.rss) / now.Sub(first.t).Seconds()
		if rate > w.ratePeak {
			w.ratePeak = rate
		}
	}
}
