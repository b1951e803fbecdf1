package curve

import (
	"math"
	"strings"
	"testing"
)

// inFlightBatches is a per-op series like containerd's goroutines under a
// probe loop (measured on 1.7): the calls run in batches of 6, one batch
// every 3 s, and a batch holds 24 goroutines for the second half of its
// cycle (a square wave in sample order: autocorrelation near 1), on top
// of a leak of perOp goroutines per op, sampled at 10 Hz over a 30 s
// stimulus.
func inFlightBatches(perOp float64) Series {
	s := Series{Metric: "m", Phases: []Phase{{PhaseStimulus, 1}}}
	for i := 0; i <= 310; i++ {
		t := float64(i) / 10
		op, v := 0.0, 1000.0
		if t >= 1 {
			op = 6 * math.Floor((t-1)/3)
			if math.Mod(t-1, 3) >= 1.5 {
				v += 24
			}
		}
		s.Points = append(s.Points, Point{T: t, Op: op, V: math.Round(v + perOp*op)})
	}
	return s
}

// A leak of twice the budget under a batch plateau: the samples' lag-1
// autocorrelation is near 1, so RulesV2 counts a few effective points and
// decides nothing; the block means, a batch cycle apart, decide it.
func TestV3DecidesALeakUnderABatchPlateauThatV2DoesNot(t *testing.T) {
	b := Budget{Metric: "m", Kind: Slope, Per: PerOp, Max: 1}
	s := inFlightBatches(2)
	v2 := EvaluateWith(RulesV2, b, s, true)
	if v2.Verdict != Inconclusive {
		t.Fatalf("v2 gave %s (%s): the test no longer shows what v3 adds", v2.Verdict, v2.Detail)
	}
	v3 := EvaluateWith(RulesV3, b, s, true)
	if v3.Verdict != Breach || !v3.Certain || v3.Rules != RulesV3 {
		t.Fatalf("v3 on a 2x leak under a batch plateau: %s, certain %v, rules %q: %s", v3.Verdict, v3.Certain, v3.Rules, v3.Detail)
	}
	t.Logf("v2: %s\nv3: %s", v2.Detail, v3.Detail)
	// The same plateau without a leak holds under v3.
	if h := EvaluateWith(RulesV3, b, inFlightBatches(0), true); h.Verdict != Hold {
		t.Fatalf("v3 on the plateau alone: %s: %s", h.Verdict, h.Detail)
	}
}

// One step of a page counter in the middle of a flat window moves a
// least-squares line by 1.5 steps over the span: v3's interval keeps at
// least that, however clean the blocks' scatter, so a lone page fault
// cannot prove a slope.
func TestBlockedIntervalKeepsOneAndAHalfStepsOfResolution(t *testing.T) {
	var xs, ys, ts []float64
	for i := 0; i < 300; i++ {
		t := float64(i) / 10
		v := 4096.0 * 1000
		if i >= 150 {
			v += 4096
		}
		xs, ys, ts = append(xs, t), append(ys, v), append(ts, t)
	}
	f := BlockedFit(xs, ys, ts)
	step := 1.5 * 4096 / 29.9
	if f.Saturated || f.Blocks != maxBlocks || f.Slope-f.Lo < step-1e-9 || f.Hi-f.Slope < step-1e-9 {
		t.Fatalf("blocked fit %+v: want %d blocks and at least %g either side of the slope", f, maxBlocks, step)
	}
	if f.Lo > 0 {
		t.Fatalf("a lone page step proved a growth: %g..%g", f.Lo, f.Hi)
	}
	// Too short a window for minBlocks blocks decides nothing.
	if s := BlockedFit(xs[:50], ys[:50], ts[:50]); !s.Saturated {
		t.Fatalf("5 s window: %+v, want saturated", s)
	}
}

// A window too short for the blocks ends inconclusive, saying how much
// longer it would have to be, and still reports how fast it grew.
func TestV3TooShortSaysHowMuchLonger(t *testing.T) {
	s := sampled(1, 4, 0, 10, func(t, _ float64) float64 { return 100 + 5*t }, nil, 0.1)
	e := EvaluateWith(RulesV3, Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 1}, s, true)
	if e.Verdict != Inconclusive || !e.Fit.Saturated || math.Abs(e.NeedFactor-MinBlockedSeconds/3.9) > 0.05 {
		t.Fatalf("%s, saturated %v, need %gx: %s", e.Verdict, e.Fit.Saturated, e.NeedFactor, e.Detail)
	}
	if math.Abs(e.Measured-5) > 0.5 || !strings.Contains(e.Detail, "the seconds would decide it") {
		t.Fatalf("measured %g: %s", e.Measured, e.Detail)
	}
}
