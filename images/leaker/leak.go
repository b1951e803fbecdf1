package main

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// leaker is the daemon's state: what it has leaked, what is in flight and
// the one-off step. Every leaked resource is counted exactly, so a test (and
// the calibration) knows the truth a verdict is judged against.
type leaker struct {
	cfg config

	mu  sync.Mutex
	ops int
	rng *rand.Rand
	// block is never closed while the daemon runs: leaked goroutines wait
	// on it for good (close releases them, for tests).
	block chan struct{}
	fds   []int
	kept  [][]byte
	// leaked counts what the ops leaked (the step is not a leak: it happens
	// once).
	leaked  stats
	stepped bool

	// inflight bounds the plateau's sleepers; its length is how many run.
	inflight chan struct{}
	peak     int
}

// stats is what /stats reports.
type stats struct {
	Ops          int  `json:"ops"`
	Goroutines   int  `json:"goroutines"`
	FDs          int  `json:"fds"`
	Bytes        int  `json:"bytes"`
	InFlight     int  `json:"inflight"`
	InFlightPeak int  `json:"inflight_peak"`
	Stepped      bool `json:"stepped"`
	NumGoroutine int  `json:"num_goroutine"`
}

func newLeaker(cfg config) *leaker {
	return &leaker{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		block:    make(chan struct{}),
		inflight: make(chan struct{}, max(1, cfg.plateauMax)),
	}
}

// due is how many whole units op n (1-based) leaks at rate per op: the
// increments of floor(n x rate), so any n ops leak floor(n x rate) in all
// (one goroutine every 20 ops at 0.05) and an integer rate leaks exactly
// that many every op. The epsilon keeps 0.05 x 20 from landing under 1.
func due(n int, rate float64) int {
	if rate <= 0 || n <= 0 {
		return 0
	}
	const eps = 1e-9
	return int(math.Floor(float64(n)*rate+eps) - math.Floor(float64(n-1)*rate+eps))
}

// op is one operation: it leaks what this op is due, takes the one-off
// step on its turn, and starts an in-flight sleeper when the plateau noise
// is on. It returns the op's number.
func (l *leaker) op() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops++
	n := l.ops
	g, f, b := due(n, l.cfg.goroutines), due(n, l.cfg.fds), due(n, l.cfg.bytes)
	if err := l.hold(g, f, b); err != nil {
		return n, err
	}
	l.leaked.Goroutines += g
	l.leaked.FDs += f
	l.leaked.Bytes += b
	if l.cfg.noise.step && !l.stepped && n >= l.cfg.stepAt {
		l.stepped = true
		if err := l.hold(l.cfg.stepGoroutines, l.cfg.stepFDs, l.cfg.stepBytes); err != nil {
			return n, err
		}
	}
	if l.cfg.noise.plateau {
		l.sleeper()
	}
	return n, nil
}

// hold keeps g goroutines, f fds and b resident bytes until close. The fds
// are raw opens of "/" (one fd each, never registered with the netpoller)
// and every page of the bytes is written, so RSS carries them.
func (l *leaker) hold(g, f, b int) error {
	for range g {
		go func() { <-l.block }()
	}
	for range f {
		fd, err := syscall.Open("/", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		l.fds = append(l.fds, fd)
	}
	if b > 0 {
		buf := make([]byte, b)
		touch(buf)
		l.kept = append(l.kept, buf)
	}
	return nil
}

// touch writes one byte in every page so the kernel backs them all.
func touch(buf []byte) {
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	if len(buf) > 0 {
		buf[len(buf)-1] = 1
	}
}

// sleeper starts one in-flight call, if fewer than plateauMax are: a
// goroutine holding an fd for plateauHold (0.5-1.5x, at random), the way a
// daemon holds a call that waits on something else. Under a steady stimulus
// their number settles at a plateau that drains once the stimulus stops.
// Callers hold l.mu.
func (l *leaker) sleeper() {
	select {
	case l.inflight <- struct{}{}:
	default:
		return // at the bound: the call is refused, as a full queue would
	}
	l.peak = max(l.peak, len(l.inflight))
	d := time.Duration(float64(l.cfg.plateauHold) * (0.5 + l.rng.Float64()))
	go func() {
		defer func() { <-l.inflight }()
		fd, err := syscall.Open("/", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err == nil {
			defer syscall.Close(fd)
		}
		time.Sleep(d)
	}()
}

// jitter is a random pause of up to cfg.jitter, so each op's connection
// lives a varying time.
func (l *leaker) jitter() time.Duration {
	if !l.cfg.noise.jitter || l.cfg.jitter <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.rng.Int64N(int64(l.cfg.jitter)))
}

// stats reports what has been leaked so far.
func (l *leaker) stats() stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.leaked
	s.Ops, s.InFlight, s.InFlightPeak, s.Stepped = l.ops, len(l.inflight), l.peak, l.stepped
	s.NumGoroutine = runtime.NumGoroutine()
	return s
}

// close releases everything held (leaked and stepped): for tests, and so
// a daemon that is asked to stop leaves nothing behind.
func (l *leaker) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.block:
	default:
		close(l.block)
	}
	for _, fd := range l.fds {
		_ = syscall.Close(fd)
	}
	l.fds, l.kept = nil, nil
}
