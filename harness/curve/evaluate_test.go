package curve

import (
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// sampled builds a series at 10 Hz: baseline for pre seconds, then the
// stimulus for dur seconds with f(t, op) and ops per second, then a settle
// phase of settle seconds with g(t).
func sampled(pre, dur, settle, opsPerSec float64, f func(t, op float64) float64, g func(t float64) float64, noise float64) Series {
	r := rand.New(rand.NewPCG(5, 5))
	s := Series{Metric: "m", Unit: "x"}
	s.Phases = []Phase{{PhaseStimulus, pre}}
	if settle > 0 {
		s.Phases = append(s.Phases, Phase{PhaseSettle, pre + dur})
	}
	for t := 0.0; t < pre+dur+settle; t += 0.1 {
		var v, op float64
		switch {
		case t < pre:
			v = f(0, 0)
		case t < pre+dur:
			op = float64(int((t - pre) * opsPerSec))
			v = f(t-pre, op)
		default:
			op = float64(int(dur * opsPerSec))
			v = g(t - pre - dur)
		}
		s.Points = append(s.Points, Point{T: t, Op: op, V: v + r.NormFloat64()*noise})
	}
	return s
}

func TestLeakBreachesPerOpSlopeAndResidual(t *testing.T) {
	// dockerd 20.10.5: +2 goroutines per call, nothing drains.
	leak := sampled(2, 60, 20, 1, func(_, op float64) float64 { return 44 + 2*op }, func(float64) float64 { return 44 + 2*60 }, 0.5)
	budgets := []Budget{
		{Metric: "m", Kind: Slope, Per: PerOp, Max: 0.05, Warmup: 10},
		{Metric: "m", Kind: Residual, Max: 8, SettleWindow: 5},
	}
	evals := EvaluateAll(budgets, []Series{leak}, true)
	for _, e := range evals {
		if e.Verdict != Breach {
			t.Fatalf("%s: %s (%s), want breach", e.Budget, e.Verdict, e.Detail)
		}
	}
	if s := evals[0].Measured; s < 1.9 || s > 2.1 {
		t.Fatalf("per-op slope %g, want ~2", s)
	}
	if !evals[0].Certain {
		t.Fatalf("a 2/op slope against 0.05/op should be certain: %s", evals[0].Detail)
	}
}

func TestPlateauThatDrainsHolds(t *testing.T) {
	g := NewWithT(t)
	// dockerd 20.10.24: rises ~12 in the first 10 calls, flat, drains after.
	plateau := func(_, op float64) float64 { return 43 + min(op, 10)*1.2 }
	drain := func(t float64) float64 {
		if t < 12 {
			return 55
		}
		return 43
	}
	s := sampled(2, 60, 25, 1, plateau, drain, 0.5)
	budgets := []Budget{
		{Metric: "m", Kind: Slope, Per: PerOp, Max: 0.05, Warmup: 15},
		{Metric: "m", Kind: Ceiling, Max: 80},
		{Metric: "m", Kind: Residual, Max: 8, SettleWindow: 5},
	}
	g.Expect([]Series{s}).To(StayWithin(budgets...))
	// The in-flight peak (~55) is still seen: a tighter ceiling breaches.
	peak := Evaluate(Budget{Metric: "m", Kind: Ceiling, Max: 50}, s, true)
	g.Expect(peak.Verdict).To(Equal(Breach))
	g.Expect(peak.Measured).To(BeNumerically("~", 55, 2))
}

func TestFlatNoisyMemoryHolds(t *testing.T) {
	g := NewWithT(t)
	// containerd with 16384: flat ~47 MiB with 1 MiB of jitter, over 20 s:
	// the default rules bound a slope on 6 or more blocks of 2 s, and a
	// window of 12 s or less decides nothing.
	s := sampled(1, 20, 0, 40, func(float64, float64) float64 { return 47 << 20 }, nil, 1<<20)
	g.Expect(s).To(GrowAtMost(1<<20, PerSecond))
	e := Evaluate(Budget{Metric: "m", Kind: Growth, Max: 16 << 20}, s, true)
	g.Expect(e.Verdict).To(Equal(Hold), e.Detail)
}

func TestFastGrowthIsCertainEarlyUnderV1(t *testing.T) {
	g := NewWithT(t)
	// containerd with -1: 52 MiB/s. After 3 s Sen's interval (RulesV1)
	// already lies above the budget.
	s := sampled(1, 3, 0, 50, func(t, _ float64) float64 { return 47<<20 + t*(52<<20) }, nil, 2<<20)
	e := EvaluateWith(RulesV1, Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 1 << 20}, s, false)
	g.Expect(e.Verdict).To(Equal(Breach))
	g.Expect(e.Certain).To(BeTrue(), e.Detail)
	g.Expect(e.Measured).To(BeNumerically("~", 52<<20, 4<<20))
	g.Expect(BreachCertain([]Evaluation{e})).To(BeTrue())
}

// RulesV3 (the default) bounds a slope only on 6 blocks of 2 s: however
// fast a series grows, a look before its window holds 12 s is not
// certain, and the first look after it is.
func TestFastGrowthIsCertainOnceTheWindowHoldsSixBlocks(t *testing.T) {
	g := NewWithT(t)
	b := Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 1 << 20}
	grow := func(t, _ float64) float64 { return 47<<20 + t*(52<<20) }
	early := EvaluateWith(RulesV3, b, sampled(1, 3, 0, 50, grow, nil, 2<<20), false)
	g.Expect(early.Verdict).To(Equal(Inconclusive), early.Detail)
	g.Expect(early.Certain).To(BeFalse())
	g.Expect(early.Measured).To(BeNumerically("~", 52<<20, 4<<20), "a window too short to bound still says how fast it grew")
	g.Expect(BreachCertain([]Evaluation{early})).To(BeFalse())
	e := EvaluateWith(RulesV3, b, sampled(1, MinBlockedSeconds+0.5, 0, 50, grow, nil, 2<<20), false)
	g.Expect(e.Verdict).To(Equal(Breach), e.Detail)
	g.Expect(e.Certain).To(BeTrue(), e.Detail)
	g.Expect(e.Measured).To(BeNumerically("~", 52<<20, 4<<20))
	g.Expect(BreachCertain([]Evaluation{e})).To(BeTrue())
}

// A flat series with noise twice the budget per second is never called a
// certain breach, at any look of the watcher's: RulesV1 on the first
// 5 s, the default rules over 20 s (where they also end on a certain hold).
func TestNoisyHoldIsNeverCertainBreach(t *testing.T) {
	g := NewWithT(t)
	b := Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 5}
	for _, c := range []struct {
		rules Rules
		dur   float64
	}{{RulesV1, 5}, {DefaultRules, 20}} {
		s := sampled(1, c.dur, 0, 50, func(float64, float64) float64 { return 100 }, nil, 10)
		var e Evaluation
		for look := 1 + 0.5; look <= 1+c.dur; look += 0.5 {
			cut := s
			cut.Points = nil
			for _, p := range s.Points {
				if p.T <= look {
					cut.Points = append(cut.Points, p)
				}
			}
			e = EvaluateWith(c.rules, b, cut, false)
			g.Expect(e.Certain && e.Verdict == Breach).To(BeFalse(), "%s at %gs: %s", c.rules, look, e.Detail)
		}
		if c.rules.ThreeWay() {
			g.Expect(e.Verdict == Hold && e.Certain).To(BeTrue(), "%s after %gs: %s", c.rules, c.dur, e.Detail)
		}
	}
}

func TestTooLittleDataIsInconclusive(t *testing.T) {
	g := NewWithT(t)
	s := sampled(0.2, 0.5, 0, 1, func(float64, float64) float64 { return 1 }, nil, 0)
	e := Evaluate(Budget{Metric: "m", Kind: Slope, Per: PerOp, Max: 1}, s, true)
	g.Expect(e.Verdict).To(Equal(Inconclusive))
	g.Expect(s).NotTo(StayWithin(Budget{Metric: "m", Kind: Slope, Per: PerOp, Max: 1}))
	// A residual without a settle phase cannot be judged either.
	r := Evaluate(Budget{Metric: "m", Kind: Residual, Max: 1}, s, true)
	g.Expect(r.Verdict).To(Equal(Inconclusive))
	g.Expect(r.Detail).To(ContainSubstring("settle"))
}

func TestCeilingAndGrowth(t *testing.T) {
	g := NewWithT(t)
	s := Series{Metric: "m", Phases: []Phase{{PhaseStimulus, 1}}, Points: []Point{{0, 0, 10}, {0.5, 0, 12}, {1, 0, 11}, {2, 1, 50}, {3, 2, 20}}}
	c := Evaluate(Budget{Metric: "m", Kind: Ceiling, Max: 40}, s, false)
	g.Expect(c.Verdict).To(Equal(Breach))
	g.Expect(c.Certain).To(BeTrue())
	gr := Evaluate(Budget{Metric: "m", Kind: Growth, Max: 40}, s, true)
	g.Expect(gr.Baseline).To(Equal(11.0)) // median of the pre-stimulus samples
	g.Expect(gr.Measured).To(Equal(39.0))
	g.Expect(gr.Verdict).To(Equal(Hold))
}

func TestBudgetValidation(t *testing.T) {
	for _, tc := range []struct {
		b    Budget
		want string
	}{
		{Budget{Kind: Slope, Per: PerOp}, "metric is empty"},
		{Budget{Metric: "m", Kind: "slop"}, `unknown kind "slop"`},
		{Budget{Metric: "m", Kind: Slope, Per: "min"}, `per must be`},
		{Budget{Metric: "m", Kind: Ceiling, Max: -1}, "negative"},
		{Budget{Metric: "m", Kind: Growth, Warmup: -2}, "must not be negative"},
	} {
		err := tc.b.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to say %q", tc.b, err, tc.want)
		}
	}
	if err := (Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 1}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSeriesAndCombine(t *testing.T) {
	g := NewWithT(t)
	evals := EvaluateAll([]Budget{{Metric: "absent", Kind: Ceiling, Max: 1}}, nil, true)
	g.Expect(evals[0].Verdict).To(Equal(Inconclusive))
	g.Expect(evals[0].Detail).To(ContainSubstring(`"absent"`))
	g.Expect(Combine([]Evaluation{{Verdict: Hold}, {Verdict: Inconclusive}})).To(Equal(Inconclusive))
	g.Expect(Combine([]Evaluation{{Verdict: Inconclusive}, {Verdict: Breach}})).To(Equal(Breach))
	g.Expect(Combine(nil)).To(Equal(Hold))
}

func TestBreachCertainWaitsForSlopeFits(t *testing.T) {
	g := NewWithT(t)
	crossed := Evaluation{Budget: Budget{Kind: Growth}, Verdict: Breach, Certain: true}
	unfitted := Evaluation{Budget: Budget{Kind: Slope}, Verdict: Inconclusive}
	fitted := Evaluation{Budget: Budget{Kind: Slope}, Verdict: Hold, Fit: &Fit{}}
	g.Expect(BreachCertain([]Evaluation{crossed, unfitted})).To(BeFalse())
	g.Expect(BreachCertain([]Evaluation{crossed, fitted})).To(BeTrue())
	g.Expect(BreachCertain([]Evaluation{fitted})).To(BeFalse())
}

// batched is a flat memory counter that moves in charge batches, as a
// cgroup's memory.current does (each CPU holds up to 64 pages charged ahead):
// its value wanders between base and base+2 batches, and nothing grows.
func batched(ops int, seed uint64) Series {
	const batch = 256 << 10
	r := rand.New(rand.NewPCG(seed, seed))
	s := Series{Metric: "m", Unit: "bytes", Phases: []Phase{{PhaseStimulus, 0}}}
	held := 0
	for i := 0; i <= ops; i += 10 {
		if r.IntN(20) == 0 {
			held = r.IntN(3)
		}
		s.Points = append(s.Points, Point{T: float64(i) / 10, Op: float64(i), V: 100<<20 + float64(held*batch)})
	}
	return s
}

func TestSlopeUnderTheResolutionIsInconclusive(t *testing.T) {
	b := Budget{Metric: "m", Kind: Slope, Per: PerOp, Max: 50, Resolution: 512 << 10}
	if got := b.MinSpan(); got < 10485 || got > 10486 {
		t.Fatalf("MinSpan %g, want 512 KiB / 50 B = 10486 ops", got)
	}
	// Past MinSpan, RulesV1's point estimate holds at 30000 ops. RulesV3
	// needs longer: its interval (block means, at a boundary valid over
	// every look) is wider than the wander, and at 30000 ops some seeds
	// still straddle the budget; at 60000 every one is a certain hold.
	for _, c := range []struct {
		rules   Rules
		longOps int
	}{{RulesV1, 30000}, {RulesV3, 60000}} {
		for seed := uint64(1); seed <= 20; seed++ {
			// 1600 ops: 50 B/op would be 78 KiB, a third of one batch.
			e := EvaluateWith(c.rules, b, batched(1600, seed), true)
			if e.Verdict != Inconclusive || e.Certain {
				t.Fatalf("%s, seed %d, 1600 ops: %s (%s), want inconclusive", c.rules, seed, e.Verdict, e.Detail)
			}
			// The long run: the counter's wander is small against 50 B/op.
			e = EvaluateWith(c.rules, b, batched(c.longOps, seed), true)
			if e.Verdict != Hold || c.rules.ThreeWay() && !e.Certain {
				t.Fatalf("%s, seed %d, %d ops: %s certain=%v (%s), want hold", c.rules, seed, c.longOps, e.Verdict, e.Certain, e.Detail)
			}
		}
	}
	// Without the resolution, RulesV1 reads the short run's wander as a
	// verdict (its point estimate is all a hold needs); RulesV3's own
	// interval, on block means, never calls it a breach.
	plain := b
	plain.Resolution = 0
	v1, v3 := map[Verdict]int{}, map[Verdict]int{}
	for seed := uint64(1); seed <= 20; seed++ {
		v1[EvaluateWith(RulesV1, plain, batched(1600, seed), true).Verdict]++
		v3[EvaluateWith(RulesV3, plain, batched(1600, seed), true).Verdict]++
	}
	if v1[Breach] == 0 {
		t.Fatalf("the short batched runs gave %v under v1 without a resolution; the test's counter does not wander enough to show the point", v1)
	}
	if v3[Breach] > 0 {
		t.Fatalf("the short batched runs gave %v under v3 without a resolution: a false breach on a counter's wander", v3)
	}
	// A leak far above the budget passes the resolution early: 500 B/op
	// over 2000 ops is ~1 MB, two batches.
	leak := sampled(1, 20, 0, 100, func(_, op float64) float64 { return 100<<20 + 500*op }, nil, 4096)
	if e := Evaluate(b, leak, true); e.Verdict != Breach || !e.Certain {
		t.Fatalf("500 B/op over 2000 ops: %s certain=%v (%s), want a certain breach", e.Verdict, e.Certain, e.Detail)
	}
	if err := (Budget{Metric: "m", Kind: Ceiling, Max: 1, Resolution: 1}).Validate(); err == nil {
		t.Fatal("a resolution on a ceiling budget validated")
	}
}
