package curve

import (
	"math"
	"slices"
	"sort"
)

// Fit is a robust line fit y = Intercept + Slope·x with a confidence
// interval [Lo, Hi] on the slope.
type Fit struct {
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	// Confidence is the interval's two-sided confidence level, e.g. 0.95.
	Confidence float64 `json:"confidence"`
	// N is the number of points fitted.
	N int `json:"n"`
	// Rho and NEff are what CalibratedFit read of the residuals: their
	// lag-1 autocorrelation and the effective number of independent points
	// it leaves (absent from Sen's fit, which assumes independence).
	Rho  float64 `json:"rho,omitempty"`
	NEff float64 `json:"n_eff,omitempty"`
	// Saturated says CalibratedFit's interval would reach past the range
	// of the pairwise slopes: too few effective points to bound the slope
	// at its confidence. Lo and Hi are then that range, and decide nothing.
	Saturated bool `json:"saturated,omitempty"`
	// Blocks is how many blocks of time BlockedFit averaged the window
	// into (absent from the other fits).
	Blocks int `json:"blocks,omitempty"`
}

// maxFitPoints bounds the O(n²) pairwise slopes: longer series are thinned
// evenly, which keeps a fit under a few milliseconds at any run length.
const maxFitPoints = 600

// TheilSen fits y against x with the Theil-Sen estimator: the median of the
// slopes of all pairs with distinct x. It shrugs off up to ~29% outliers (a
// GC pause, a sampling hiccup) where least squares would swing. The interval
// is Sen's (1968) rank-based one from Kendall's S variance, at the given
// two-sided confidence (0 means 0.95). Pairs with equal x are skipped, so
// many samples at one op count are fine. Fewer than two distinct x values
// give a zero fit with N = len(xs).
func TheilSen(xs, ys []float64, confidence float64) Fit {
	if confidence <= 0 || confidence >= 1 {
		confidence = 0.95
	}
	xs, ys = thin(xs, ys, maxFitPoints)
	n := len(xs)
	slopes := pairSlopes(xs, ys)
	f := Fit{Confidence: confidence, N: n}
	if len(slopes) == 0 {
		return f
	}
	// Three order statistics (median, and Sen's bounds) by selection: the
	// same values a full sort gives, a few times faster, which matters to
	// a calibration replaying thousands of runs look by look.
	m := len(slopes)
	mid := m / 2
	f.Slope = selectK(slopes, mid)
	if m%2 == 0 {
		f.Slope = (slices.Max(slopes[:mid]) + f.Slope) / 2
	}

	// Sen's interval: C = z·sqrt(Var(S)), Var(S) = n(n-1)(2n+5)/18.
	nn := float64(n)
	c := normalQuantile(1-(1-confidence)/2) * math.Sqrt(nn*(nn-1)*(2*nn+5)/18)
	lo := int(math.Floor((float64(m) - c) / 2))
	hi := int(math.Ceil((float64(m) + c) / 2))
	f.Lo = orderStat(slopes, mid, clamp(lo, 0, m-1))
	f.Hi = orderStat(slopes, mid, clamp(hi, 0, m-1))

	res := make([]float64, n)
	for i := range xs {
		res[i] = ys[i] - f.Slope*xs[i]
	}
	sort.Float64s(res)
	f.Intercept = median(res)
	return f
}

// thin keeps at most max points, evenly spaced, always keeping the last.
func thin(xs, ys []float64, max int) ([]float64, []float64) {
	n := len(xs)
	if n <= max {
		return xs, ys
	}
	ox, oy := make([]float64, 0, max), make([]float64, 0, max)
	for k := 0; k < max; k++ {
		i := k * (n - 1) / (max - 1)
		ox, oy = append(ox, xs[i]), append(oy, ys[i])
	}
	return ox, oy
}

// median of a sorted slice.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Median returns the median of vs without changing vs.
func Median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return median(s)
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// normalQuantile is the standard normal inverse CDF (Acklam's rational
// approximation, relative error < 1.2e-9), enough for confidence bounds.
func normalQuantile(p float64) float64 {
	a := [...]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [...]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [...]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [...]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const low = 0.02425
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	case p < low:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-low:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	default:
		q := p - 0.5
		r := q * q
		return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	}
}
