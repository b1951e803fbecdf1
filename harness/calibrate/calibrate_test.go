package calibrate

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

// falseBreachOK is the bar the default rules must clear on independent
// noise with the budget at the truth, looked at as the watcher looks: at
// most 2% false breaches (the target is 1%; the slack covers a sample of
// a few hundred replays).
func falseBreachOK(r Rate) bool { return r.P <= 0.02 }

func cellOf(t *testing.T, rules curve.Rules, noise string, m float64, n int) Cell {
	t.Helper()
	var ns []Noise
	for _, x := range Noises() {
		if x.Name == noise {
			ns = append(ns, x)
		}
	}
	cells, err := Run(context.Background(), Config{Rules: []curve.Rules{rules}, Multiples: []float64{m}, Replays: n, Noises: ns, Seed: 7, Workers: 2}, nil)
	if err != nil || len(cells) != 1 {
		t.Fatalf("calibration run: %v, %d cells", err, len(cells))
	}
	return cells[0]
}

// falseBreachesFixed checks that v1 fails the bar on v1Noise with the
// budget at the truth (so the check is known to fail on the rules it
// replaced) and that rules pass it on every one of noises.
func falseBreachesFixed(t *testing.T, rules curve.Rules, v1Noise string, noises []string) {
	t.Helper()
	v1 := cellOf(t, curve.RulesV1, v1Noise, 1, 60).BreachRate()
	if falseBreachOK(v1) {
		t.Fatalf("v1 gave %d of %d false breaches on %s: the bar no longer tells the old rules from %s", v1.K, v1.N, v1Noise, rules)
	}
	t.Logf("v1, %s, budget at the truth: %d of %d false breaches", v1Noise, v1.K, v1.N)
	for _, noise := range noises {
		r := cellOf(t, rules, noise, 1, 200).BreachRate()
		if !falseBreachOK(r) {
			t.Errorf("%s, %s, budget at the truth: %d of %d false breaches (%.1f%%, 95%% CI %.1f-%.1f%%), want at most 2%%",
				rules, noise, r.K, r.N, 100*r.P, 100*r.Lo, 100*r.Hi)
		}
	}
}

// The watcher peeks every 0.5 s. Under v1 that turns a nominal 2.5% into
// a coin toss; v2's sequential boundary keeps it under the bar.
func TestFalseBreachRateUnderPeeking(t *testing.T) {
	falseBreachesFixed(t, curve.RulesV2, "ar1-0", []string{"ar1-0", "ar1-0.5", "plateau"})
}

// A leak of twice the budget must be caught, and a flat series must hold
// early under v2.
func TestPowerAndEarlyHold(t *testing.T) {
	c := cellOf(t, curve.RulesV2, "ar1-0", 2, 100)
	if p := c.BreachRate().P; p < 0.95 {
		t.Errorf("v2 power at 2x on independent noise %.0f%%, want at least 95%%", 100*p)
	}
	h := cellOf(t, curve.RulesV2, "ar1-0", 0, 50)
	if h.Hold < 48 || h.Early < 48 {
		t.Errorf("v2 at 0x: %d holds, %d early of 50; want nearly all early holds", h.Hold, h.Early)
	}
	if q := quantile(h.HoldAfter, 0.5); q >= 29 {
		t.Errorf("v2 at 0x holds after a median %.1fs, want well before the 30 s run ends", q)
	}
}

func TestReplayStopsAtTheWatchersLook(t *testing.T) {
	// A large leak on small noise: a certain breach within a few looks.
	b, s := Synthetic(Noises()[0], newRand(3), 40)
	o := Replay(curve.RulesV2, b, s, true)
	if o.Verdict != curve.Breach || !o.Early {
		t.Fatalf("outcome %+v, want an early breach", o)
	}
	if frac := o.After / 0.5; math.Abs(frac-math.Round(frac)) > 1e-9 || o.After > 10 {
		t.Fatalf("decided after %gs: want a multiple of the 0.5 s look, early", o.After)
	}
	// Without early stop the same run is judged once, at its end.
	end := Replay(curve.RulesV2, b, s, false)
	if end.Early || end.Verdict != curve.Breach || end.After < 29 {
		t.Fatalf("run to end: %+v, want a breach judged at the end", end)
	}
}

func TestWilson(t *testing.T) {
	r := NewRate(0, 1000)
	if r.Lo != 0 || r.Hi < 0.003 || r.Hi > 0.005 {
		t.Fatalf("0 of 1000: %+v, want [0, ~0.38%%]", r)
	}
	// None and all are exact at their end for any n (rounding once left
	// 0 of 361 with a lower bound of 1e-18).
	for n := 1; n <= 1000; n++ {
		if r := NewRate(0, n); r.Lo != 0 {
			t.Fatalf("0 of %d: lower bound %g, want 0", n, r.Lo)
		}
		if r := NewRate(n, n); r.Hi != 1 {
			t.Fatalf("%d of %d: upper bound %g, want 1", n, n, r.Hi)
		}
	}
	r = NewRate(50, 100)
	if math.Abs(r.Lo-0.404) > 0.002 || math.Abs(r.Hi-0.596) > 0.002 {
		t.Fatalf("50 of 100: %+v, want ~[40.4%%, 59.6%%]", r)
	}
}

func TestReportRendersEveryCell(t *testing.T) {
	cells, err := Run(context.Background(), Config{Rules: []curve.Rules{curve.RulesV1, curve.RulesV2}, Multiples: []float64{0, 2}, Replays: 3, Noises: Noises()[:2], Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Method: Method, Sources: Sources(), Cells: cells}
	md := rep.Markdown()
	for _, want := range []string{"| v1 | ar1-0 |", "| v2 | ar1-0.5 |", "## Time to verdict"} {
		if !contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, svg := range []string{rep.PowerSVG(), rep.TimeSVG()} {
		if !contains(svg, "<polyline") || !contains(svg, "</svg>") {
			t.Errorf("plot without lines:\n%s", svg)
		}
	}
}

func TestShiftedKeepsTheNoiseInAnotherOrder(t *testing.T) {
	s := curve.Series{Metric: "fds", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}, {Name: curve.PhaseSettle, T: 5}}}
	for i := 0; i < 60; i++ {
		s.Points = append(s.Points, curve.Point{T: float64(i) / 10, Op: float64(i), V: float64(i % 7)})
	}
	re := Real{Budget: curve.Budget{Metric: "fds", Kind: curve.Slope, Per: curve.PerOp, Max: 1}, Series: []curve.Series{s}}
	_, got, _ := Shifted([]Real{re}, newRand(1), 0)
	var before, after []float64
	for j, p := range got[0].Points {
		if p.T >= 1 && p.T < 5 {
			before, after = append(before, math.Abs(s.Points[j].V)), append(after, math.Abs(p.V))
		} else if p.V != s.Points[j].V && p.V != -s.Points[j].V {
			t.Fatalf("a sample outside the stimulus moved: %v -> %v", s.Points[j], p)
		}
	}
	slices.Sort(before)
	slices.Sort(after)
	if !slices.Equal(before, after) {
		t.Fatalf("the stimulus' values are not a rotation of the measured ones:\n%v\n%v", before, after)
	}
}

// On autocorrelated noise with the budget at the truth, v1's peeking at an
// interval that assumes independent samples cries wolf; v3 keeps under
// the bar on the same replays, and on the GC sawtooth and the strongly
// correlated noise too.
func TestV3FalseBreachRateOnCorrelatedNoise(t *testing.T) {
	falseBreachesFixed(t, curve.RulesV3, "ar1-0.5", []string{"ar1-0.5", "ar1-0.9", "sawtooth"})
}

// Where v2 rarely decides (a GC sawtooth whose ramps last seconds), v3's
// block means catch a leak of twice the budget most of the time, and
// still hold a flat series early.
func TestV3PowerOnASawtooth(t *testing.T) {
	v2 := cellOf(t, curve.RulesV2, "sawtooth", 2, 100).BreachRate()
	v3 := cellOf(t, curve.RulesV3, "sawtooth", 2, 100).BreachRate()
	if v3.P < 0.7 || v3.P < v2.P+0.3 {
		t.Errorf("power at 2x on the sawtooth: v3 %.0f%%, v2 %.0f%%; want v3 at least 70%% and 30 points over v2", 100*v3.P, 100*v2.P)
	}
	h := cellOf(t, curve.RulesV3, "ar1-0", 0, 50)
	if h.Hold < 48 || h.Early < 48 {
		t.Errorf("v3 at 0x: %d holds, %d early of 50; want nearly all early holds", h.Hold, h.Early)
	}
}

// The warm-up is left out of a slope's fit because the stimulus' first
// ramp is in it: a rotation must leave it where it was, not carry the
// ramp into the fitted window.
func TestShiftedLeavesTheWarmupInPlace(t *testing.T) {
	s := curve.Series{Metric: "fds", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}}}
	for i := 0; i < 60; i++ {
		v := float64(i % 5)
		if i >= 10 && i < 20 {
			v = 100 + 10*float64(i) // the first ramp, in the warm-up
		}
		s.Points = append(s.Points, curve.Point{T: float64(i) / 10, Op: float64(max(0, i-10)), V: v})
	}
	re := Real{Budget: curve.Budget{Metric: "fds", Kind: curve.Slope, Per: curve.PerOp, Max: 1, Warmup: 10}, Series: []curve.Series{s}}
	r := newRand(2)
	for k := 0; k < 20; k++ {
		_, got, _ := Shifted([]Real{re}, r, 0)
		for j, p := range got[0].Points {
			if j < 20 && math.Abs(p.V) != s.Points[j].V {
				t.Fatalf("rotation %d moved a warm-up sample %d: %v -> %v", k, j, s.Points[j], p)
			}
			if j >= 20 && math.Abs(p.V) > 4 {
				t.Fatalf("rotation %d carried the ramp into the window at %d: %v", k, j, p)
			}
		}
	}
}
