package curve

import (
	"math"
	"slices"
)

// The calibrated (RulesV2) slope statistics' constants.
const (
	// SequentialAlpha bounds the chance that any look of a run, however
	// many, puts the interval wholly on the wrong side of the truth, per
	// direction: a false breach, and separately a false hold.
	SequentialAlpha = 0.01
	// mixturePoints centres the sequential boundary's normal mixture on the
	// information of a fit of this many points (10 s at the default 10
	// Hz): there the margin is 4.4 standard errors, it is tightest (3.6) at
	// about twice the points and grows slowly beyond (4.0 at 1000). Looks
	// on fewer points need far more (9 at 50 points): a short window's
	// lag-1 autocorrelation is badly estimated, and a GC sawtooth's ramp or
	// a correlated wander fits as a trend. Centred on 20 points instead,
	// the calibration measured 47% false breaches on a sawtooth, 2% on
	// AR(1) at rho 0.9 and 9% holds of a leak twice the budget there.
	mixturePoints = 100
	// maxRho caps the lag-1 autocorrelation an interval is widened for; a
	// series nearer a random walk than that counts as ~0.5% of its points.
	maxRho = 0.99
)

// CalibratedFit fits y against x with the Theil-Sen slope and an interval
// that stays honest on daemon metrics and under repeated looks:
//
//   - the slope's standard error is the least-squares one of the residuals
//     around the Theil-Sen line, inflated for their lag-1 autocorrelation
//     rho (a GC sawtooth, batches of in-flight calls): n points count as
//     N_eff = n(1-rho)/(1+rho). rho is estimated from the residuals in
//     sample order, corrected for its small-sample bias, and never below 0;
//   - the half-width is that error times a Student t on N_eff-2 degrees of
//     freedom at the tail of a normal-mixture sequential boundary
//     (Robbins), so the chance that ANY look of a run excludes the true
//     slope on one side is at most SequentialAlpha;
//   - the interval is never narrower than one step of the series'
//     resolution (the smallest gap between two distinct values, one count
//     for fds and goroutines) over the fitted span: a staircase of twenty
//     equal counts does not prove a slope of exactly zero.
//
// Lo and Hi are that interval; Confidence is its nominal two-sided level.
func CalibratedFit(xs, ys []float64) Fit {
	xs, ys = thin(xs, ys, maxFitPoints)
	n := len(xs)
	f := Fit{Confidence: 1 - 2*SequentialAlpha, N: n}
	slope, ok := senSlope(xs, ys)
	if !ok || n < 3 {
		return f
	}
	res := make([]float64, n)
	for i := range xs {
		res[i] = ys[i] - slope*xs[i]
	}
	f.Slope, f.Intercept = slope, Median(res)

	var mx float64
	for _, x := range xs {
		mx += x
	}
	mx /= float64(n)
	var sxx, ss, lag, xlo, xhi float64
	xlo, xhi = xs[0], xs[0]
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		r := res[i] - f.Intercept
		res[i] = r
		ss += r * r
		if i > 0 {
			lag += r * res[i-1]
		}
		xlo, xhi = min(xlo, xs[i]), max(xhi, xs[i])
	}
	nn := float64(n)
	rho := 0.0
	if ss > 0 {
		rho = lag / ss
		rho += (1 + 4*rho) / nn // the estimate's bias on a short detrended series
	}
	rho = math.Max(0, math.Min(maxRho, rho))
	f.Rho = rho
	f.NEff = nn * (1 - rho) / (1 + rho)

	se := 0.0
	if sxx > 0 {
		se = math.Sqrt(ss / (nn - 2) / sxx * nn / f.NEff)
	}
	half := boundaryT(nn, f.NEff) * se
	if span := xhi - xlo; span > 0 {
		half = math.Max(half, resolution(ys)/span)
	}
	f.Lo, f.Hi = slope-half, slope+half
	return f
}

// boundaryT is the half-width multiplier of CalibratedFit's interval at a
// look on n points worth nEff independent ones: Robbins' normal-mixture
// boundary z(r), r the look's information relative to the mixture's
// centre (a slope's information grows like n³ on evenly spaced x), carried
// to the same tail of a Student t on nEff-2 degrees of freedom, since the
// residuals' scale is estimated from few independent points where they are
// correlated. The t's heavy tail at a large z makes looks on few points
// all but unable to decide (a margin of 47 standard errors at 40 points,
// 15 at 50, 4.7 at 100 on independent noise), and that is what keeps a GC
// sawtooth's ramp, a clean line within one period, from passing for a
// leak: applying the t as a mere factor on z instead let 5.7% of flat
// sawtooth runs breach early in the calibration, this 0%.
func boundaryT(n, nEff float64) float64 {
	z := mixtureZ(math.Pow(n/mixturePoints, 3))
	p := 0.5 * math.Erfc(z/math.Sqrt2)
	return studentT(p, math.Max(1, nEff-2))
}

// mixtureZ is Robbins' normal-mixture boundary, in standard errors, at
// information r relative to the mixture's centre, for SequentialAlpha:
// z(r) = sqrt((1+1/r)(ln(1+r) + 2 ln(1/alpha))).
func mixtureZ(r float64) float64 {
	return math.Sqrt((1 + 1/r) * (math.Log1p(r) + 2*math.Log(1/SequentialAlpha)))
}

// resolution is the smallest gap between two distinct values of ys: one
// count for counters, a page for memory read in pages, tiny for others.
func resolution(ys []float64) float64 {
	s := slices.Clone(ys)
	slices.Sort(s)
	gap := math.Inf(1)
	for i := 1; i < len(s); i++ {
		if d := s[i] - s[i-1]; d > 0 && d < gap {
			gap = d
		}
	}
	if math.IsInf(gap, 1) {
		return 0
	}
	return gap
}

// senSlope is the Theil-Sen slope (the median of all pairwise slopes of
// distinct x) found by selection rather than a full sort, so replaying
// thousands of runs look by look stays fast. ok is false with fewer than
// two distinct x values.
func senSlope(xs, ys []float64) (float64, bool) {
	n := len(xs)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	m := len(slopes)
	if m == 0 {
		return 0, false
	}
	hi := selectK(slopes, m/2)
	if m%2 == 1 {
		return hi, true
	}
	// The lower middle is the largest value left of position m/2.
	lo := slices.Max(slopes[:m/2])
	return (lo + hi) / 2, true
}

// selectK rearranges vs so that vs[k] is the k-th smallest value, every
// value before it is not larger and every value after it not smaller, and
// returns it (Hoare's quickselect, middle pivot with median of three).
func selectK(vs []float64, k int) float64 {
	lo, hi := 0, len(vs)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if vs[mid] < vs[lo] {
			vs[mid], vs[lo] = vs[lo], vs[mid]
		}
		if vs[hi] < vs[lo] {
			vs[hi], vs[lo] = vs[lo], vs[hi]
		}
		if vs[hi] < vs[mid] {
			vs[hi], vs[mid] = vs[mid], vs[hi]
		}
		pivot := vs[mid]
		i, j := lo, hi
		for i <= j {
			for vs[i] < pivot {
				i++
			}
			for vs[j] > pivot {
				j--
			}
			if i <= j {
				vs[i], vs[j] = vs[j], vs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return vs[k]
		}
	}
	return vs[k]
}
