package calibrate

import (
	"math"
	"math/rand/v2"

	"github.com/relapse-dev/relapse/harness/curve"
)

// The synthetic runs' shape: the engine's default 10 Hz, a 1 s baseline, a
// stimulus of 30 s, one op per sample, noise of standard deviation 1 and a
// per-second slope budget with a 1 s warm-up.
const (
	synthRate     = 10.0
	synthBaseline = 1.0
	synthDuration = 30.0
	synthWarmup   = 1.0
	// synthBudget puts the budget at a leak that grows two noise standard
	// deviations over the stimulus: small enough that noise matters, the
	// regime where a verdict rule earns its keep.
	synthBudget = 2.0 / synthDuration
)

// Noise is a named synthetic noise: it returns the value of the noise at
// each sample, given the samples' times since the stimulus.
type Noise struct {
	Name string
	// Why says what in a real daemon it stands for.
	Why  string
	Make func(r *rand.Rand, ts []float64) []float64
}

// Noises are the synthetic noise kinds the calibration replays.
func Noises() []Noise {
	return []Noise{
		{"ar1-0", "independent noise: what Sen's interval assumes", ar1(0)},
		{"ar1-0.5", "moderately correlated samples (containerd RSS, a pod's kmem)", ar1(0.5)},
		{"ar1-0.9", "strongly correlated samples (dockerd goroutines under a loop)", ar1(0.9)},
		{"sawtooth", "a GC sawtooth: memory ramps up over 3-5 s and drops, with jitter", sawtooth(3, 5)},
		{"sawtooth-fast", "a fast GC sawtooth: ramps of 0.5-1.5 s, a few samples each", sawtooth(0.5, 1.5)},
		{"plateau", "an in-flight plateau: a bounded rise in the first second that then stays (it drains after the stimulus)", plateau},
		{"step", "a one-off step at start, half a second into the stimulus", step},
	}
}

// ar1 is Gaussian AR(1) noise with lag-1 autocorrelation rho and a
// stationary standard deviation of 1.
func ar1(rho float64) func(*rand.Rand, []float64) []float64 {
	return func(r *rand.Rand, ts []float64) []float64 {
		out := make([]float64, len(ts))
		e := r.NormFloat64()
		innov := math.Sqrt(1 - rho*rho)
		for i := range ts {
			if i > 0 {
				e = rho*e + innov*r.NormFloat64()
			}
			out[i] = e
		}
		return out
	}
}

// sawtooth ramps up by 3 over a period drawn from [lo, hi] seconds, drops
// back, and adds a little independent jitter; the phase is random.
func sawtooth(lo, hi float64) func(*rand.Rand, []float64) []float64 {
	return func(r *rand.Rand, ts []float64) []float64 {
		period := lo + (hi-lo)*r.Float64()
		phase := r.Float64() * period
		out := make([]float64, len(ts))
		for i, t := range ts {
			frac := math.Mod(t+phase+period*10, period) / period
			out[i] = 3*(frac-0.5) + 0.3*r.NormFloat64()
		}
		return out
	}
}

// plateau rises to 3 with a 0.5 s time constant once the stimulus starts,
// over independent noise of 0.5.
func plateau(r *rand.Rand, ts []float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		if t > 0 {
			out[i] = 3 * (1 - math.Exp(-t/0.5))
		}
		out[i] += 0.5 * r.NormFloat64()
	}
	return out
}

// step jumps by 3 half a second into the stimulus, over noise of 0.5.
func step(r *rand.Rand, ts []float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		if t >= 0.5 {
			out[i] = 3
		}
		out[i] += 0.5 * r.NormFloat64()
	}
	return out
}

// Synthetic is one synthetic run: noise plus a true slope of multiple
// times the budget, sampled as the engine samples, with its budget.
func Synthetic(n Noise, r *rand.Rand, multiple float64) ([]curve.Budget, []curve.Series) {
	count := int((synthBaseline + synthDuration) * synthRate)
	ts := make([]float64, count)
	for i := range ts {
		ts[i] = float64(i)/synthRate - synthBaseline
	}
	noise := n.Make(r, ts)
	s := curve.Series{Metric: "synthetic", Unit: "count", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: synthBaseline}}}
	slope := multiple * synthBudget
	for i, t := range ts {
		v, op := noise[i], 0.0
		if t > 0 {
			v += slope * t
			op = math.Floor(t * synthRate)
		}
		s.Points = append(s.Points, curve.Point{T: t + synthBaseline, Op: op, V: v})
	}
	b := curve.Budget{Metric: s.Metric, Kind: curve.Slope, Per: curve.PerSecond, Max: synthBudget, Warmup: synthWarmup,
		Why: "calibration: a leak of two noise standard deviations over the stimulus"}
	return []curve.Budget{b}, []curve.Series{s}
}
