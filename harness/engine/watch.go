package engine

import (
	"context"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/results"
)

// progressEvery is how often the live primary slope is narrated.
const progressEvery = 10 * time.Second

// watcher judges budgets while the drive runs (judge.LookAt, every
// judge.LookEvery: the look the calibration replays), narrates progress,
// and cancels the drive once a look decides. A variant that runs to its
// end is never cancelled; the watcher closes enough instead when its slope
// budgets have decided (hold for certain, or a breach is certain), so its
// drive may end the stimulus and settle.
type watcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	enough chan struct{}
	mu     sync.Mutex
	result earlyVerdict
}

// earlyVerdict is what the deciding look found: its verdict, when it
// looked (after the stimulus started) and the newest sample it saw.
type earlyVerdict struct {
	stopped bool
	verdict curve.Verdict
	after   time.Duration
	sawTo   float64
	// enoughAfter is when (after the stimulus started) the slope budgets
	// were found decided and enough was closed; 0 if never.
	enoughAfter time.Duration
	// enoughSawTo is the newest sample that look saw: the slopes are
	// judged as it saw them (judge.Cut).
	enoughSawTo float64
}

func watch(ctx context.Context, rules curve.Rules, budgets []curve.Budget, s *probe.Sampler, ops *probe.Ops, start time.Time, early bool, enough chan struct{}, logf func(string, ...any)) *watcher {
	w := &watcher{done: make(chan struct{}), enough: enough}
	w.ctx, w.cancel = context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		t := time.NewTicker(judge.LookEvery)
		defer t.Stop()
		lastSaid, saidEnough := start, false
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
			series := s.Series()
			look := judge.LookAt(rules, budgets, series)
			if time.Since(lastSaid) >= progressEvery {
				lastSaid = time.Now()
				logf("  %5.0fs  %d ops  %s", time.Since(start).Seconds(), ops.Load(), liveLine(look.Evaluations, series))
			}
			if !early && look.SlopesDecided && !saidEnough {
				saidEnough = true
				w.mu.Lock()
				w.result.enoughAfter, w.result.enoughSawTo = time.Since(start), judge.LastSample(series)
				w.mu.Unlock()
				close(w.enough)
				logf("  %5.0fs  %d ops  %s: the stimulus may end, the settle decides the rest",
					time.Since(start).Seconds(), ops.Load(), decided(look))
			}
			if early && look.Stop {
				w.mu.Lock()
				w.result.stopped, w.result.verdict = true, look.Verdict
				w.result.after, w.result.sawTo = time.Since(start), judge.LastSample(series)
				w.mu.Unlock()
				w.cancel()
				return
			}
		}
	}()
	return w
}

// decided says how a look decided the slope budgets (judge.Look.SlopesDecided).
func decided(l judge.Look) string {
	if l.Stop && l.Verdict == curve.Breach {
		return "a budget breaches for certain"
	}
	return "every slope budget holds for certain"
}

// liveLine is the primary budget's live reading, in words and units, for
// progress lines.
func liveLine(evals []curve.Evaluation, series []curve.Series) string {
	p, ok := judge.Primary(evals)
	if !ok {
		return ""
	}
	r := results.Result{Evaluations: []curve.Evaluation{p}, Units: unitsOf(series)}
	return r.Judgements()[0].String()
}

// unitsOf maps each series' metric to its unit.
func unitsOf(series []curve.Series) map[string]string {
	u := make(map[string]string, len(series))
	for _, s := range series {
		u[s.Metric] = s.Unit
	}
	return u
}

// stop ends the watch and reports whether a look decided early.
func (w *watcher) stop() earlyVerdict {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}
