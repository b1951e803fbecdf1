package calibrate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Config says what a calibration replays.
type Config struct {
	Rules []curve.Rules
	// Multiples are the true slopes replayed, as multiples of the budget:
	// 1 is the null at its worst (the truth on the budget), below it the
	// right verdict is hold, above it breach.
	Multiples []float64
	// Replays is how many runs each synthetic noise, and the rotated real
	// series, give per multiple. Each real series is also replayed once as
	// measured and once negated.
	Replays int
	Noises  []Noise
	Real    []Real
	Seed    uint64
	// Workers replay in parallel (default 1).
	Workers int
}

// DefaultMultiples are the leak sizes a calibration reports.
var DefaultMultiples = []float64{0, 0.5, 1, 2, 4}

// Cell is every replay of one rule set, source and leak size.
type Cell struct {
	Rules    curve.Rules `json:"rules"`
	Source   string      `json:"source"`
	Multiple float64     `json:"multiple"`
	N        int         `json:"n"`
	Breach   int         `json:"breach"`
	Hold     int         `json:"hold"`
	Early    int         `json:"early"`
	// BreachAfter and HoldAfter are the seconds from the stimulus to each
	// breach and hold verdict, sorted.
	BreachAfter []float64 `json:"breach_after_s"`
	HoldAfter   []float64 `json:"hold_after_s"`
}

// Inconclusive is how many replays decided neither way.
func (c Cell) Inconclusive() int { return c.N - c.Breach - c.Hold }

// BreachRate is the share of breach verdicts: false breaches at a
// multiple of 1 or less, power above it.
func (c Cell) BreachRate() Rate { return NewRate(c.Breach, c.N) }

// HoldRate is the share of hold verdicts: wrong holds above a multiple of 1.
func (c Cell) HoldRate() Rate { return NewRate(c.Hold, c.N) }

// Add counts one outcome; BreachAfter and HoldAfter need sorting after.
func (c *Cell) Add(o Outcome) {
	c.N++
	if o.Early {
		c.Early++
	}
	switch o.Verdict {
	case curve.Breach:
		c.Breach++
		c.BreachAfter = append(c.BreachAfter, o.After)
	case curve.Hold:
		c.Hold++
		c.HoldAfter = append(c.HoldAfter, o.After)
	}
}

// job is one replay: a run made from its seed, under one rule set.
type job struct {
	cell  int
	rules curve.Rules
	make  func(r *rand.Rand, i int) ([]curve.Budget, []curve.Series, bool)
	seed  uint64
}

// Run replays every configured source and multiple under every rule set.
// The same seeds feed every rule set, so the rules are compared on the
// very same runs. progress, if set, is told after each cell.
func Run(ctx context.Context, cfg Config, progress func(Cell)) ([]Cell, error) {
	if len(cfg.Rules) == 0 || len(cfg.Multiples) == 0 {
		return nil, fmt.Errorf("calibration: no rules or no multiples to replay")
	}
	var cells []Cell
	var jobs [][]job
	add := func(rules curve.Rules, source string, m float64, n int, mk func(*rand.Rand, int, float64) ([]curve.Budget, []curve.Series, bool)) {
		cells = append(cells, Cell{Rules: rules, Source: source, Multiple: m})
		idx := len(cells) - 1
		var js []job
		for i := 0; i < n; i++ {
			js = append(js, job{cell: idx, rules: rules, seed: uint64(i), make: func(r *rand.Rand, i int) ([]curve.Budget, []curve.Series, bool) { return mk(r, i, m) }})
		}
		jobs = append(jobs, js)
	}
	for _, rules := range cfg.Rules {
		for _, n := range cfg.Noises {
			for _, m := range cfg.Multiples {
				add(rules, n.Name, m, cfg.Replays, func(r *rand.Rand, _ int, m float64) ([]curve.Budget, []curve.Series, bool) {
					b, s := Synthetic(n, r, m)
					return b, s, true
				})
			}
		}
		if len(cfg.Real) > 0 {
			for _, m := range cfg.Multiples {
				add(rules, "real", m, 2*len(cfg.Real), func(_ *rand.Rand, i int, m float64) ([]curve.Budget, []curve.Series, bool) {
					return Injected(cfg.Real, i, m)
				})
			}
			for _, m := range cfg.Multiples {
				add(rules, "real-shifted", m, cfg.Replays, func(r *rand.Rand, _ int, m float64) ([]curve.Budget, []curve.Series, bool) {
					return Shifted(cfg.Real, r, m)
				})
			}
		}
	}
	workers := max(1, cfg.Workers)
	for ci, js := range jobs {
		if err := ctx.Err(); err != nil {
			return cells, fmt.Errorf("calibration interrupted: %w", err)
		}
		outs := make([]Outcome, len(js))
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					j := js[i]
					r := rand.New(rand.NewPCG(cfg.Seed, uint64(ci%(len(jobs)/len(cfg.Rules)))<<32|j.seed))
					b, s, early := j.make(r, int(j.seed))
					outs[i] = Replay(j.rules, b, s, early)
				}
			}()
		}
		for i := range js {
			next <- i
		}
		close(next)
		wg.Wait()
		for _, o := range outs {
			cells[ci].Add(o)
		}
		slices.Sort(cells[ci].BreachAfter)
		slices.Sort(cells[ci].HoldAfter)
		if progress != nil {
			progress(cells[ci])
		}
	}
	return cells, nil
}
