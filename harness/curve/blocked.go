package curve

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// The blocked (RulesV3) slope statistics' constants. The calibration
// (harness/calibrate, docs/calibration) measured the choices: more and
// shorter blocks buy power on noise that forgets within a second and cost
// false breaches on real series whose noise is slow (a pod's RSS that
// settles into a new level, a heap that swells and shrinks over the run).
const (
	// minBlockSeconds is the shortest block of time a window is cut into:
	// a block averages a GC ramp, an in-flight batch or a counter's dwell
	// on one value, which last seconds whatever the sampling rate. Blocks
	// of 1 s left neighbouring means of AR(1) noise at rho 0.9 (10 Hz)
	// correlated by about 0.5, more than 6-12 blocks can estimate: 1.6%
	// false breaches at the truth against 0.9% with 2 s, for 1.5-2.5 s
	// more to a verdict.
	minBlockSeconds = 2.0
	// minBlocks is the fewest blocks a slope is judged on: the interval's
	// spread is estimated from the blocks' scatter about their line, with
	// minBlocks-2 degrees of freedom.
	minBlocks = 6
	// maxBlocks caps the blocks: past it a longer window makes blocks
	// longer, not more, so that slow noise is averaged within blocks
	// rather than mistaken for a trend across many short ones.
	maxBlocks = 12
	// stepFloor is how many steps of the series' resolution over the
	// fitted span the interval keeps at least on each side: one step of
	// the resolution (a page, a count) at the middle of a window moves a
	// least-squares slope by 1.5 steps over the span.
	stepFloor = 1.5
)

// BlockedFit fits y against x on block means: the window is cut into
// blocks of equal time (ts, seconds since the sampler started), each
// block's points are averaged, and a least-squares line through the block
// means gives the slope. Its interval is a Student t interval from the
// blocks' scatter about that line (blocks-2 degrees of freedom), widened
// for the lag-1 autocorrelation left between neighbouring blocks, at
// RulesV2's normal-mixture sequential boundary (SequentialAlpha per
// direction over every look) carried over to the t distribution, and
// never narrower than stepFloor steps of the series' resolution over the
// fitted span.
//
// Averaging over blocks in seconds is what makes it hold on daemon
// metrics: a counter that dwells on one value for seconds, an in-flight
// batch, or a heap that ramps between collections has a sample-to-sample
// autocorrelation near 1, which leaves RulesV2's effective sample size a
// handful of points; their block means, seconds apart, are nearly
// independent, and slow noise that is not shows as scatter between the
// blocks rather than as a narrow interval. Saturated says the window is
// too short for minBlocks blocks of minBlockSeconds.
func BlockedFit(xs, ys, ts []float64) Fit {
	n := len(xs)
	f := Fit{Confidence: 1 - 2*SequentialAlpha, N: n, Saturated: true}
	if n < 3 || len(ys) != n || len(ts) != n {
		return f
	}
	tlo, thi, xlo, xhi := ts[0], ts[0], xs[0], xs[0]
	for i := range ts {
		tlo, thi = min(tlo, ts[i]), max(thi, ts[i])
		xlo, xhi = min(xlo, xs[i]), max(xhi, xs[i])
	}
	seconds := thi - tlo
	q := min(maxBlocks, int(seconds/minBlockSeconds))
	if q < minBlocks {
		// Too short to judge; the Theil-Sen slope still says how fast it
		// grew so far.
		ts := TheilSen(xs, ys, 0.95)
		f.Slope, f.Intercept = ts.Slope, ts.Intercept
		return f
	}
	bx, by := blockMeans(xs, ys, ts, tlo, seconds/float64(q), q)
	m := len(bx)
	f.Blocks = m
	if m < minBlocks {
		return f
	}
	var mx, my float64
	for k := range bx {
		mx += bx[k]
		my += by[k]
	}
	mx, my = mx/float64(m), my/float64(m)
	var sxx, sxy float64
	for k := range bx {
		sxx += (bx[k] - mx) * (bx[k] - mx)
		sxy += (bx[k] - mx) * (by[k] - my)
	}
	if sxx == 0 {
		return f
	}
	f.Saturated = false
	f.Slope = sxy / sxx
	f.Intercept = my - f.Slope*mx
	var ss, lag, prev float64
	for k := range bx {
		e := by[k] - f.Intercept - f.Slope*bx[k]
		ss += e * e
		if k > 0 {
			lag += e * prev
		}
		prev = e
	}
	rho := 0.0
	if ss > 0 {
		rho = lag / ss
		rho += (1 + 4*rho) / float64(m) // the estimate's bias on a short detrended series
	}
	rho = math.Max(0, math.Min(maxRho, rho))
	f.Rho = rho
	f.NEff = float64(m) * (1 - rho) / (1 + rho)
	df := float64(m - 2)
	se := math.Sqrt(ss/df/sxx) * math.Sqrt((1+rho)/(1-rho))
	p := normalCDF(-mixtureZ(math.Pow(seconds/mixtureSeconds, 3), SequentialAlpha))
	c := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - p)
	f.Lo, f.Hi = f.Slope-c*se, f.Slope+c*se
	if span := xhi - xlo; span > 0 {
		step := stepFloor * Resolution(ys) / span
		f.Lo, f.Hi = math.Min(f.Lo, f.Slope-step), math.Max(f.Hi, f.Slope+step)
	}
	return f
}

// MinBlockedSeconds is the shortest window BlockedFit bounds a slope on.
const MinBlockedSeconds = minBlocks * minBlockSeconds

// blockMeans averages the points into q blocks of width seconds from tlo
// (the last block takes the window's last point), skipping empty blocks.
func blockMeans(xs, ys, ts []float64, tlo, width float64, q int) (bx, by []float64) {
	sx, sy, cnt := make([]float64, q), make([]float64, q), make([]float64, q)
	for i := range ts {
		k := min(q-1, int((ts[i]-tlo)/width))
		sx[k] += xs[i]
		sy[k] += ys[i]
		cnt[k]++
	}
	for k := range cnt {
		if cnt[k] > 0 {
			bx, by = append(bx, sx[k]/cnt[k]), append(by, sy[k]/cnt[k])
		}
	}
	return bx, by
}

// normalCDF is the standard normal distribution function.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
