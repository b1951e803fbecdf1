package curve

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// line makes n points y = a + b·x + noise, x = 0..n-1.
func line(n int, a, b, noise float64, seed uint64) ([]float64, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
		ys[i] = a + b*xs[i] + r.NormFloat64()*noise
	}
	return xs, ys
}

func TestTheilSenRecoversKnownSlope(t *testing.T) {
	for _, tc := range []struct {
		name         string
		slope, noise float64
	}{
		{"exact", 3, 0},
		{"noisy", 52e6, 2e6},
		{"negative", -0.5, 0.1},
		{"zero slope with noise", 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs, ys := line(200, 100, tc.slope, tc.noise, 5)
			f := TheilSen(xs, ys, 0.95)
			tol := 3*tc.noise/math.Sqrt(200)/10 + 1e-9 // well inside the noise over the x range
			if math.Abs(f.Slope-tc.slope) > tol+0.01*math.Abs(tc.slope) {
				t.Fatalf("slope %g, want %g ± %g", f.Slope, tc.slope, tol)
			}
			if f.Lo > tc.slope || f.Hi < tc.slope {
				t.Fatalf("95%% interval [%g, %g] misses the true slope %g", f.Lo, f.Hi, tc.slope)
			}
			if f.Lo > f.Slope || f.Hi < f.Slope {
				t.Fatalf("interval [%g, %g] does not contain the estimate %g", f.Lo, f.Hi, f.Slope)
			}
			if tc.noise == 0 && (f.Lo != f.Slope || f.Hi != f.Slope || math.Abs(f.Intercept-100) > 1e-9) {
				t.Fatalf("exact line: got %+v", f)
			}
		})
	}
}

func TestTheilSenIgnoresOutliers(t *testing.T) {
	xs, ys := line(300, 10, 2, 0.5, 3)
	// 20% wild outliers, all upwards: least squares would be pulled far off.
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 60; i++ {
		ys[r.IntN(len(ys))] += 1e6
	}
	f := TheilSen(xs, ys, 0.95)
	if math.Abs(f.Slope-2) > 0.1 {
		t.Fatalf("slope %g with outliers, want ~2", f.Slope)
	}
}

func TestTheilSenCoverage(t *testing.T) {
	// Over many independent noisy series the 95% interval should hold the
	// true slope most of the time; far below 95% means the interval is wrong.
	hits := 0
	const runs = 200
	for s := uint64(0); s < runs; s++ {
		xs, ys := line(60, 0, 1, 4, s)
		if f := TheilSen(xs, ys, 0.95); f.Lo <= 1 && 1 <= f.Hi {
			hits++
		}
	}
	if hits < runs*88/100 {
		t.Fatalf("interval covered the true slope %d/%d times, want >= 88%%", hits, runs)
	}
}

func TestTheilSenTiesAndDegenerate(t *testing.T) {
	// Ten samples per op count: pairs at equal x are skipped, not divided by zero.
	var xs, ys []float64
	for op := 0; op < 20; op++ {
		for k := 0; k < 10; k++ {
			xs, ys = append(xs, float64(op)), append(ys, 40+2*float64(op)+float64(k%3))
		}
	}
	if f := TheilSen(xs, ys, 0.95); math.Abs(f.Slope-2) > 1e-9 {
		t.Fatalf("slope with ties %g, want 2", f.Slope)
	}
	if f := TheilSen([]float64{1, 1, 1}, []float64{1, 2, 3}, 0.95); f.Slope != 0 || f.N != 3 {
		t.Fatalf("one distinct x: got %+v, want zero fit", f)
	}
	if f := TheilSen(nil, nil, 0.95); f.N != 0 {
		t.Fatalf("empty: got %+v", f)
	}
}

func TestTheilSenThinsLongSeries(t *testing.T) {
	xs, ys := line(20000, 5, 0.25, 1, 11)
	f := TheilSen(xs, ys, 0.95)
	if f.N != maxFitPoints {
		t.Fatalf("fitted %d points, want thinning to %d", f.N, maxFitPoints)
	}
	if math.Abs(f.Slope-0.25) > 0.001 {
		t.Fatalf("slope %g, want 0.25", f.Slope)
	}
}

func TestNormalQuantile(t *testing.T) {
	for p, want := range map[float64]float64{0.5: 0, 0.975: 1.959964, 0.995: 2.575829, 0.01: -2.326348} {
		if got := normalQuantile(p); math.Abs(got-want) > 1e-5 {
			t.Errorf("normalQuantile(%g) = %g, want %g", p, got, want)
		}
	}
}

func BenchmarkTheilSen600(b *testing.B) {
	xs, ys := line(600, 0, 1, 1, 1)
	for b.Loop() {
		TheilSen(xs, ys, 0.95)
	}
}

// senBySort is Sen's estimator and interval by a full sort of the pairwise
// slopes, as TheilSen computed them before it selected instead.
func senBySort(xs, ys []float64, confidence float64) (slope, lo, hi float64) {
	s := pairSlopes(xs, ys)
	sort.Float64s(s)
	m := len(s)
	nn := float64(len(xs))
	c := normalQuantile(1-(1-confidence)/2) * math.Sqrt(nn*(nn-1)*(2*nn+5)/18)
	l := int(math.Floor((float64(m) - c) / 2))
	h := int(math.Ceil((float64(m) + c) / 2))
	return median(s), s[clamp(l, 0, m-1)], s[clamp(h, 0, m-1)]
}

func TestTheilSenBySelectionEqualsTheSort(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 300; trial++ {
		n := 2 + r.IntN(80)
		xs, ys := make([]float64, n), make([]float64, n)
		for i := range xs {
			xs[i] = float64(i / (1 + r.IntN(3)))        // repeated x
			ys[i] = float64(r.IntN(5)) + 0.5*float64(i) // staircases with ties
			if trial%2 == 0 {
				ys[i] += r.NormFloat64()
			}
		}
		if len(pairSlopes(xs, ys)) == 0 {
			continue
		}
		for _, conf := range []float64{0.5, 0.95, 0.999999} {
			f := TheilSen(xs, ys, conf)
			s, lo, hi := senBySort(xs, ys, conf)
			if f.Slope != s || f.Lo != lo || f.Hi != hi {
				t.Fatalf("trial %d n=%d conf %g: selection %g [%g, %g], sort %g [%g, %g]", trial, n, conf, f.Slope, f.Lo, f.Hi, s, lo, hi)
			}
		}
	}
}
