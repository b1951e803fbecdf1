package curve

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSenSlopeBySelectionIsTheMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 4, 7, 50} {
		xs, ys := make([]float64, n), make([]float64, n)
		for i := range xs {
			xs[i], ys[i] = float64(i/2), r.NormFloat64() // repeated x too
		}
		want := TheilSen(xs, ys, 0.95).Slope
		got := CalibratedFit(xs, ys, 10).Slope
		if n < 3 {
			continue
		}
		if got != want {
			t.Errorf("n=%d: selection %g, sort %g", n, got, want)
		}
	}
	vs := []float64{5, 1, 4, 1, 3, 9, 2, 6}
	s := slices.Clone(vs)
	slices.Sort(s)
	for k := range vs {
		if got := selectK(slices.Clone(vs), k); got != s[k] {
			t.Errorf("selectK(%d) = %g, want %g", k, got, s[k])
		}
	}
}

// Twenty equal counts do not prove a slope of exactly zero: the interval
// keeps at least one count over the fitted span.
func TestStaircaseIntervalHasAFloor(t *testing.T) {
	xs, ys := make([]float64, 20), make([]float64, 20)
	for i := range xs {
		xs[i], ys[i] = float64(i), 40
	}
	ys[7] = 41 // one count of resolution
	f := CalibratedFit(xs, ys, 10)
	if f.Hi-f.Slope < 1.0/19-1e-12 || f.Slope-f.Lo < 1.0/19-1e-12 {
		t.Fatalf("interval %g..%g around %g, want at least one count over 19 ops each side", f.Lo, f.Hi, f.Slope)
	}
	v1 := TheilSen(xs, ys, 0.95)
	if v1.Lo != 0 || v1.Hi != 0 {
		t.Fatalf("Sen's interval %g..%g: the floor is only needed if v1 gives 0..0", v1.Lo, v1.Hi)
	}
}

// Correlated residuals widen the interval by about sqrt((1+rho)/(1-rho)).
func TestAutocorrelationWidensTheInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 400
	xs, ind, cor := make([]float64, n), make([]float64, n), make([]float64, n)
	e := 0.0
	for i := range xs {
		xs[i] = float64(i) / 10
		ind[i] = r.NormFloat64()
		e = 0.8*e + 0.6*r.NormFloat64()
		cor[i] = e
	}
	fi, fc := CalibratedFit(xs, ind, 40), CalibratedFit(xs, cor, 40)
	if fi.Rho > 0.1 || fc.Rho < 0.7 || fc.Rho > 0.9 {
		t.Fatalf("rho %g on independent and %g on AR(0.8) noise", fi.Rho, fc.Rho)
	}
	if fc.NEff > float64(n)/5 || fi.NEff < float64(n)*0.8 {
		t.Fatalf("n_eff %g and %g of %d", fi.NEff, fc.NEff, n)
	}
	wi, wc := fi.Hi-fi.Lo, fc.Hi-fc.Lo
	if wc < 2*wi {
		t.Fatalf("width %g on AR(0.8) vs %g independent: want at least twice", wc, wi)
	}
}

func TestV2IsThreeWay(t *testing.T) {
	flat := sampled(1, 30, 0, 1, func(_, _ float64) float64 { return 100 }, nil, 1)
	leak := sampled(1, 30, 0, 1, func(t, _ float64) float64 { return 100 + 2*t }, nil, 1)
	near := sampled(1, 30, 0, 1, func(t, _ float64) float64 { return 100 + 0.1*t }, nil, 1)
	b := Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 0.1}
	for _, c := range []struct {
		s       Series
		want    Verdict
		certain bool
	}{{flat, Hold, true}, {leak, Breach, true}, {near, Inconclusive, false}} {
		e := EvaluateWith(RulesV2, b, c.s, true)
		if e.Verdict != c.want || e.Certain != c.certain || e.Rules != RulesV2 {
			t.Errorf("%s, certain %v, rules %q: want %s, certain %v (%s)", e.Verdict, e.Certain, e.Rules, c.want, c.certain, e.Detail)
		}
	}
	e := EvaluateWith(RulesV2, Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 0.09}, near, true)
	if e.Verdict != Inconclusive || e.NeedFactor <= 1 || !strings.Contains(e.Detail, "the seconds would decide it") {
		t.Fatalf("a slope of 0.1/s against 0.09/s on 30 s: %s, need %gx: %s", e.Verdict, e.NeedFactor, e.Detail)
	}
	if v1 := EvaluateWith(RulesV1, b, near, true); v1.Verdict == Inconclusive || v1.Rules != "" {
		t.Fatalf("v1 gives two-way verdicts and records no rules: %s %q", v1.Verdict, v1.Rules)
	}
}

func TestParseRules(t *testing.T) {
	if r, err := ParseRules(""); err != nil || r != DefaultRules {
		t.Fatalf("empty: %q %v", r, err)
	}
	if _, err := ParseRules("v9"); err == nil || !strings.Contains(err.Error(), `"v9"`) {
		t.Fatalf("v9: %v, want an error naming it", err)
	}
	for _, r := range []Rules{RulesV1, RulesV2, RulesV3} {
		if got, err := ParseRules(string(r)); err != nil || got != r {
			t.Fatalf("%s: %q %v", r, got, err)
		}
	}
	if RulesV1.ThreeWay() || !RulesV2.ThreeWay() || !RulesV3.ThreeWay() {
		t.Fatal("v2 and v3 are three-way, v1 is not")
	}
	if Of("") != RulesV1 || Of("v2") != RulesV2 {
		t.Fatal("recorded rules: empty is v1")
	}
}

// A clean ramp over a few strongly correlated samples has every pairwise
// slope above the budget, and still proves nothing.
func TestSaturatedIntervalDecidesNothing(t *testing.T) {
	s := Series{Metric: "m", Phases: []Phase{{PhaseStimulus, 0}}}
	for i := 0; i < 35; i++ {
		t := float64(i) / 10
		s.Points = append(s.Points, Point{T: t, V: 100 + 2*t + 0.5*math.Sin(t)})
	}
	e := EvaluateWith(RulesV2, Budget{Metric: "m", Kind: Slope, Per: PerSecond, Max: 1}, s, false)
	if !e.Fit.Saturated || e.Verdict != Inconclusive || e.Certain {
		t.Fatalf("saturated %v, %s certain %v: %s", e.Fit.Saturated, e.Verdict, e.Certain, e.Detail)
	}
}
