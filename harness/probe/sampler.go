package probe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Sampler records its sources at a fixed interval until stopped. Each sample
// carries the time since Start and the op count at that moment.
type Sampler struct {
	interval time.Duration
	ops      *Ops
	sources  []Source
	logf     func(string, ...any)

	mu     sync.Mutex
	start  time.Time
	series map[string]*curve.Series
	order  []string
	phases []curve.Phase
	errs   map[string]int

	cancel context.CancelFunc
	done   chan struct{}
}

// NewSampler returns a sampler over sources. logf receives collection errors
// (once per distinct error text); it may be nil.
func NewSampler(interval time.Duration, ops *Ops, logf func(string, ...any), sources ...Source) *Sampler {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	if ops == nil {
		ops = &Ops{}
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Sampler{interval: interval, ops: ops, sources: sources, logf: logf,
		series: map[string]*curve.Series{}, errs: map[string]int{}}
	for _, src := range sources {
		for _, d := range src.Describe() {
			if _, dup := s.series[d.Name]; dup {
				continue
			}
			s.series[d.Name] = &curve.Series{Metric: d.Name, Unit: d.Unit}
			s.order = append(s.order, d.Name)
		}
	}
	return s
}

// Start takes a first sample at once and then one per interval (a Paced
// source's one per its Every, if longer), until Stop or ctx ends. Each
// source is read on its own goroutine with a deadline of one interval (at
// least collectFloor), so a daemon socket that accepts but never answers
// (a hung startup) costs that source its samples, never the others theirs.
func (s *Sampler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, src := range s.sources {
		every := s.interval
		if p, ok := src.(Paced); ok {
			every = max(every, p.Every)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				s.sampleOne(ctx, src)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
}

// collectFloor is the shortest deadline a source's read gets.
const collectFloor = 250 * time.Millisecond

// Stop takes a last sample and stops sampling. Safe to call twice.
func (s *Sampler) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.sample(context.Background())
	s.cancel = nil
}

// Mark records a named phase at the current time on every series.
func (s *Sampler) Mark(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases = append(s.phases, curve.Phase{Name: name, T: time.Since(s.start).Seconds()})
}

func (s *Sampler) sample(ctx context.Context) {
	for _, src := range s.sources {
		s.sampleOne(ctx, src)
	}
}

func (s *Sampler) sampleOne(ctx context.Context, src Source) {
	op := float64(s.ops.Load())
	cctx, cancel := context.WithTimeout(ctx, max(s.interval, collectFloor))
	vals, err := src.Collect(cctx)
	cancel()
	t := time.Since(s.startTime()).Seconds()
	if err != nil && ctx.Err() == nil {
		s.noteErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, v := range vals {
		if sr, ok := s.series[name]; ok {
			sr.Points = append(sr.Points, curve.Point{T: t, Op: op, V: v})
		}
	}
}

func (s *Sampler) startTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}

func (s *Sampler) noteErr(err error) {
	s.mu.Lock()
	msg := err.Error()
	s.errs[msg]++
	first := s.errs[msg] == 1
	s.mu.Unlock()
	if first {
		s.logf("sampler: %v", err)
	}
}

// Series returns a copy of every recorded series, in source order, each with
// the phases marked so far.
func (s *Sampler) Series() []curve.Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]curve.Series, 0, len(s.order))
	for _, name := range s.order {
		sr := *s.series[name]
		sr.Points = append([]curve.Point(nil), sr.Points...)
		sr.Phases = append([]curve.Phase(nil), s.phases...)
		out = append(out, sr)
	}
	return out
}

// Get returns a copy of one series.
func (s *Sampler) Get(metric string) (curve.Series, error) {
	for _, sr := range s.Series() {
		if sr.Metric == metric {
			return sr, nil
		}
	}
	return curve.Series{}, fmt.Errorf("no series %q (have %v)", metric, s.order)
}
