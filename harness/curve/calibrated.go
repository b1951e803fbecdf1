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
	// mixtureSeconds centres the sequential boundary's normal mixture on
	// the information of a fit over this many seconds of samples: there
	// the margin is 4.4 standard errors, it is tightest (3.6) at about
	// twice the span and grows slowly beyond (4.0 at ten times). Shorter
	// windows need far more (9 at 5 s, 34 at 2 s): a GC sawtooth's ramp or
	// an in-flight batch plays out over seconds, whatever the sampling
	// rate, and within one period it is a clean line that fits as a trend.
	// Centred on 2 s instead, the calibration measured 40% false breaches
	// on flat 3-5 s sawtooth runs and 2% on AR(1) at rho 0.9 (here 0% and
	// 0%, 200 replays each at 10 Hz).
	mixtureSeconds = 10.0
	// maxRho caps the lag-1 autocorrelation an interval is widened for; a
	// series nearer a random walk than that counts as ~0.5% of its points.
	maxRho = 0.99
)

// CalibratedFit fits y against x with the Theil-Sen slope and an interval
// that stays honest on daemon metrics and under repeated looks:
//
//   - it is Sen's rank interval (no scale to estimate, robust to a GC
//     pause or a staircase's plateaus) at the normal-mixture sequential
//     boundary z (Robbins) instead of 1.96, so the chance that ANY look of
//     a run excludes the true slope on one side is at most
//     SequentialAlpha;
//   - Kendall's S variance is inflated for the lag-1 autocorrelation rho of
//     the residuals around the Theil-Sen line (a GC sawtooth, batches of
//     in-flight calls): n points count as N_eff = n(1-rho)/(1+rho). rho is
//     estimated in sample order, corrected for its small-sample bias and
//     never below 0;
//   - the interval is never narrower than one step of the series'
//     resolution (the smallest gap between two distinct values, one count
//     for fds and goroutines) over the fitted span: a staircase of twenty
//     equal counts does not prove a slope of exactly zero.
//
// Lo and Hi are that interval; Confidence is its nominal two-sided level.
//
// seconds is the time the points span: the boundary is tight only once
// the window covers a daemon's slow cycles (mixtureSeconds).
func CalibratedFit(xs, ys []float64, seconds float64) Fit {
	xs, ys = thin(xs, ys, maxFitPoints)
	n := len(xs)
	f := Fit{Confidence: 1 - 2*SequentialAlpha, N: n}
	slopes := pairSlopes(xs, ys)
	m := len(slopes)
	if m == 0 || n < 3 {
		return f
	}
	mid := m / 2
	f.Slope = selectK(slopes, mid)
	if m%2 == 0 {
		f.Slope = (slices.Max(slopes[:mid]) + f.Slope) / 2
	}

	res := make([]float64, n)
	xlo, xhi := xs[0], xs[0]
	for i := range xs {
		res[i] = ys[i] - f.Slope*xs[i]
		xlo, xhi = min(xlo, xs[i]), max(xhi, xs[i])
	}
	f.Intercept = Median(res)
	var ss, lag float64
	for i := range res {
		res[i] -= f.Intercept
		ss += res[i] * res[i]
		if i > 0 {
			lag += res[i] * res[i-1]
		}
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

	z := mixtureZ(math.Pow(seconds/mixtureSeconds, 3), SequentialAlpha) * math.Sqrt((1+rho)/(1-rho))
	c := z * math.Sqrt(nn*(nn-1)*(2*nn+5)/18)
	lo := int(math.Floor((float64(m) - c) / 2))
	hi := int(math.Ceil((float64(m) + c) / 2))
	f.Lo, f.Hi = orderStat(slopes, mid, lo), orderStat(slopes, mid, hi)
	// A rank outside the pairwise slopes means the interval is wider than
	// anything the data spans: a monotone ramp of 35 samples at rho 0.95
	// has every pairwise slope over a budget, yet proves nothing.
	f.Saturated = lo < 0 || hi > m-1
	if span := xhi - xlo; span > 0 {
		step := Resolution(ys) / span
		f.Lo, f.Hi = math.Min(f.Lo, f.Slope-step), math.Max(f.Hi, f.Slope+step)
	}
	return f
}

// orderStat is the k-th smallest of slopes (clamped to the ends), which
// selectK has already split at mid.
func orderStat(slopes []float64, mid, k int) float64 {
	switch {
	case k <= 0:
		return slices.Min(slopes[:max(1, mid)])
	case k >= len(slopes)-1:
		return slices.Max(slopes[mid:])
	case k < mid:
		return selectK(slopes[:mid], k)
	case k == mid:
		return slopes[mid]
	default:
		return selectK(slopes[mid+1:], k-mid-1)
	}
}

// mixtureZ is Robbins' normal-mixture boundary, in standard errors, at
// information r relative to the mixture's centre, for an error of alpha:
// z(r) = sqrt((1+1/r)(ln(1+r) + 2 ln(1/alpha))). A slope's information
// grows like the cube of the window's length on evenly spaced samples, so
// r = (seconds/mixtureSeconds)³.
func mixtureZ(r, alpha float64) float64 {
	return math.Sqrt((1 + 1/r) * (math.Log1p(r) + 2*math.Log(1/alpha)))
}

// Resolution is the smallest gap between two distinct values of ys: one
// count for counters, a page for memory read in pages, tiny for others.
func Resolution(ys []float64) float64 {
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

// pairSlopes are the slopes of all pairs of points with distinct x, the
// Theil-Sen estimator's raw material.
func pairSlopes(xs, ys []float64) []float64 {
	n := len(xs)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	return slopes
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
