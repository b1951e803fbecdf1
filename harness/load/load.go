package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relapse-dev/relapse/harness/probe"
)

// FormURLEncoded is the default content type: PHP parses such a body into
// $_POST, which is what makes it spool large bodies to /tmp.
const FormURLEncoded = "application/x-www-form-urlencoded"

const (
	defaultConcurrency    = 4
	defaultRequestTimeout = 10 * time.Second
	// maxBurst is how much schedule backlog the pacer makes up at once after
	// the workload stalled; older backlog is dropped, so a stall is followed
	// by the configured rate, not a flood.
	maxBurst = 100 * time.Millisecond
)

// ErrIncomplete is returned (wrapped, with the Stats) when Options.Timeout
// ends the run before Options.Total requests were sent.
var ErrIncomplete = errors.New("load: time bound reached before all requests were sent")

// Options say what to send, how fast and how much. Total and Timeout are
// required: a stimulus must be bounded in count and in time.
type Options struct {
	// URL is the endpoint, e.g. http://127.0.0.1:8080/upload. Its host
	// must be a loopback address or localhost.
	URL string
	// BodySize is the payload size in bytes. With the default content type
	// the body is "data=" followed by BodySize bytes; otherwise BodySize
	// bytes.
	BodySize int
	// Rate caps requests per second; 0 sends as fast as Concurrency allows.
	// It is an upper bound: a slow server lowers the achieved rate (see
	// Stats.Rate), and backlog older than 100 ms is not made up.
	Rate float64
	// Concurrency is the number of requests in flight at most (default 4).
	Concurrency int
	// Total is how many requests to send (> 0).
	Total int64
	// Timeout bounds the whole run (> 0). No request starts after it;
	// requests in flight then finish within RequestTimeout.
	Timeout time.Duration
	// MinOK and Extend make the time bound a count where it must be: when
	// Timeout passes with fewer than MinOK requests answered, sending goes
	// on for up to Extend more until MinOK are. A per-request budget needs
	// a number of requests, and a slow machine (an emulated guest) serves
	// far fewer in the time bound than the one it was set on.
	MinOK  int64
	Extend time.Duration
	// RequestTimeout bounds each request (default 10s).
	RequestTimeout time.Duration
	// Ops, if set, is incremented once per request answered with a 2xx
	// status: per-op curves must divide by the requests the workload really
	// served, not by refused or failed ones.
	Ops *probe.Ops
	// ContentType is the request's Content-Type (default FormURLEncoded).
	ContentType string
	// Dial, if set, opens each connection with the loopback-only dialer it
	// is given (runtime.Dialer dials inside a sandbox's network namespace,
	// where a workload on the container host network listens).
	Dial func(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error)
}

// Stats summarise a run.
type Stats struct {
	// Sent is the number of requests started; each ends in OK or Errors.
	Sent int64
	// OK is the number of requests answered with a 2xx status.
	OK int64
	// Errors counts failed requests by class: http_4xx, http_5xx,
	// http_other, timeout, refused, reset, canceled, other.
	Errors map[string]int64
	// P50 and P99 are latencies of the OK requests (nearest rank).
	P50, P99 time.Duration
	// Elapsed is the run's wall time, from first send to last completion.
	Elapsed time.Duration
	// Rate is the achieved rate: completed requests (ok or not) per second
	// of Elapsed.
	Rate float64
}

// Failed is the number of requests that did not get a 2xx answer.
func (s Stats) Failed() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// String is a one-line summary for logs.
func (s Stats) String() string {
	return fmt.Sprintf("sent %d ok %d errors %v in %s (%.0f req/s) p50 %s p99 %s",
		s.Sent, s.OK, s.Errors, s.Elapsed.Round(time.Millisecond), s.Rate, s.P50, s.P99)
}

func (o *Options) validate() error {
	if o.BodySize < 0 {
		return fmt.Errorf("load: BodySize %d is negative", o.BodySize)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return fmt.Errorf("load: Rate %v must be a finite number >= 0 (0 = as fast as Concurrency allows)", o.Rate)
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("load: Concurrency %d is negative (0 = %d)", o.Concurrency, defaultConcurrency)
	}
	if o.Total <= 0 {
		return fmt.Errorf("load: Total %d must be > 0: a run is bounded in count", o.Total)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("load: Timeout %s must be > 0: a run is bounded in time", o.Timeout)
	}
	if o.MinOK < 0 || o.Extend < 0 {
		return fmt.Errorf("load: MinOK %d and Extend %s must not be negative", o.MinOK, o.Extend)
	}
	if o.RequestTimeout < 0 {
		return fmt.Errorf("load: RequestTimeout %s is negative (0 = %s)", o.RequestTimeout, defaultRequestTimeout)
	}
	return nil
}

// body builds the request payload once; every request reads it.
func (o *Options) body() []byte {
	if o.ContentType == FormURLEncoded {
		return append([]byte("data="), bytes.Repeat([]byte{'a'}, o.BodySize)...)
	}
	return bytes.Repeat([]byte{'a'}, o.BodySize)
}

// Run sends opts.Total POST requests to opts.URL, at most opts.Rate per
// second and opts.Concurrency at a time, until all are done, opts.Timeout
// passes (ErrIncomplete) or ctx ends. It returns the Stats in every case but
// bad options. Failed requests are counted in Stats.Errors, not returned as
// an error, except when none succeeded: a run that served nothing would make
// any resource curve look flat.
func Run(ctx context.Context, opts Options) (Stats, error) {
	if err := opts.validate(); err != nil {
		return Stats{}, err
	}
	u, err := checkURL(opts.URL)
	if err != nil {
		return Stats{}, err
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = defaultConcurrency
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	if opts.ContentType == "" {
		opts.ContentType = FormURLEncoded
	}
	if opts.Ops == nil {
		opts.Ops = &probe.Ops{}
	}

	tr := &http.Transport{
		Proxy:               nil, // never via a proxy: loopback only
		DialContext:         loopbackDialer(opts.Dial),
		MaxIdleConns:        opts.Concurrency,
		MaxIdleConnsPerHost: opts.Concurrency,
		MaxConnsPerHost:     opts.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect could lead off loopback, and is not what was measured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	r := &runner{opts: opts, url: u.String(), client: client, body: opts.body()}
	return r.run(ctx)
}

type runner struct {
	opts   Options
	url    string
	client *http.Client
	body   []byte
	// answered counts requests answered with a 2xx status so far.
	answered atomic.Int64
}

type workerResult struct {
	sent, ok  int64
	errors    map[string]int64
	latencies []time.Duration
}

func (r *runner) run(ctx context.Context) (Stats, error) {
	// runCtx stops new sends at the time bound; requests in flight use ctx
	// so they can finish (within RequestTimeout) and are not miscounted.
	runCtx, cancel := context.WithTimeout(ctx, r.opts.Timeout+r.opts.Extend)
	defer cancel()
	if r.opts.Extend > 0 {
		go r.endAtMinOK(runCtx, cancel)
	}

	jobs := make(chan struct{})
	results := make([]workerResult, r.opts.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func(res *workerResult) {
			defer wg.Done()
			res.errors = map[string]int64{}
			for range jobs {
				r.one(ctx, res)
			}
		}(&results[i])
	}

	dispatched := r.dispatch(runCtx, jobs, start)
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	st := Stats{Errors: map[string]int64{}, Elapsed: elapsed}
	var lat []time.Duration
	for _, res := range results {
		st.Sent += res.sent
		st.OK += res.ok
		for k, v := range res.errors {
			st.Errors[k] += v
		}
		lat = append(lat, res.latencies...)
	}
	st.P50, st.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if elapsed > 0 {
		st.Rate = float64(st.Sent) / elapsed.Seconds()
	}

	switch {
	case ctx.Err() != nil:
		return st, fmt.Errorf("load: stopped after %d of %d requests: %w", st.Sent, r.opts.Total, ctx.Err())
	case dispatched < r.opts.Total:
		return st, fmt.Errorf("%w: sent %d of %d within %s (%s)", ErrIncomplete, st.Sent, r.opts.Total, r.opts.Timeout, st)
	case st.OK == 0:
		return st, fmt.Errorf("load: none of %d requests to %s succeeded (errors %v); is the workload up and listening there?", st.Sent, r.url, st.Errors)
	}
	return st, nil
}

// endAtMinOK ends the run at Timeout if MinOK requests were answered by
// then, else as soon as they are (runCtx ends it at Timeout+Extend).
func (r *runner) endAtMinOK(runCtx context.Context, cancel context.CancelFunc) {
	t := time.NewTimer(r.opts.Timeout)
	defer t.Stop()
	select {
	case <-runCtx.Done():
		return
	case <-t.C:
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for r.answered.Load() < r.opts.MinOK {
		select {
		case <-runCtx.Done():
			return
		case <-tick.C:
		}
	}
	cancel()
}

// dispatch hands out up to Total jobs, paced to Rate, until ctx ends. It
// returns how many it handed out.
func (r *runner) dispatch(ctx context.Context, jobs chan<- struct{}, start time.Time) int64 {
	var interval time.Duration
	if r.opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / r.opts.Rate)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	base := start
	for i := int64(0); i < r.opts.Total; i++ {
		if interval > 0 {
			due := base.Add(time.Duration(i) * interval)
			now := time.Now()
			if lag := now.Sub(due); lag > maxBurst {
				base = base.Add(lag - maxBurst)
			} else if wait := due.Sub(now); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return i
				}
			}
		}
		select {
		case jobs <- struct{}{}:
		case <-ctx.Done():
			return i
		}
	}
	return r.opts.Total
}

func (r *runner) one(ctx context.Context, res *workerResult) {
	res.sent++
	ctx, cancel := context.WithTimeout(ctx, r.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		res.errors["other"]++
		return
	}
	req.Header.Set("Content-Type", r.opts.ContentType)
	t0 := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		res.errors[classify(ctx, err)]++
		return
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(t0)
	switch {
	case err != nil:
		res.errors[classify(ctx, err)]++
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.ok++
		r.answered.Add(1)
		res.latencies = append(res.latencies, d)
		r.opts.Ops.Add(1)
	default:
		res.errors[statusClass(resp.StatusCode)]++
	}
}
