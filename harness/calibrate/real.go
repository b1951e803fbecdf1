package calibrate

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Real is one slope budget's series from a real run that held: the best
// null data there is, a daemon's own noise under its own workload.
type Real struct {
	// Name is "<incident>/<variant>[@cell] <metric> (<run>)".
	Name   string
	Budget curve.Budget
	Series []curve.Series
	// Early is false for a variant that runs to its end (no early stop).
	Early bool
	// slope is the run's own fitted slope over the budget's window: the
	// series' trend, replaced by the injected truth in a replay.
	slope float64
}

// LoadReal reads the real hold series of a saved run: one Real per slope
// budget of every result that was expected to hold and did. runToEnd says
// whether a variant runs without early stop (nil: none does).
func LoadReal(dir string, runToEnd func(incident, variant string) bool) ([]Real, error) {
	run, err := results.Load(dir)
	if err != nil {
		return nil, err
	}
	var out []Real
	for _, res := range run.Results {
		if res.Expect != string(curve.Hold) || !res.OK {
			continue
		}
		series, err := results.LoadResultSeries(dir, res)
		if err != nil {
			return nil, fmt.Errorf("real series of %s in %s: %w", res.Name(), dir, err)
		}
		for _, e := range res.Evaluations {
			b := e.Budget
			if b.Kind != curve.Slope {
				continue
			}
			ev := curve.EvaluateWith(curve.RulesV2, b, pick(series, b.Metric), true)
			if ev.Fit == nil || ev.Fit.N < 20 {
				continue // too short a window to replay looks on
			}
			out = append(out, Real{
				Name:   fmt.Sprintf("%s %s (%s)", res.Name(), b.Metric, run.ID),
				Budget: b, Series: []curve.Series{pick(series, b.Metric)},
				Early: runToEnd == nil || !runToEnd(res.Incident, res.Variant),
				slope: ev.Fit.Slope,
			})
		}
	}
	return out, nil
}

func pick(series []curve.Series, metric string) curve.Series {
	for _, s := range series {
		if s.Metric == metric {
			return s
		}
	}
	return curve.Series{Metric: metric}
}

// Injected is the real series i/2 of reals, negated when i is odd, with its
// own trend replaced by a true slope of multiple times its budget: the
// same noise, under a leak of known size.
func Injected(reals []Real, i int, multiple float64) ([]curve.Budget, []curve.Series, bool) {
	re := reals[i/2]
	sign := 1.0
	if i%2 == 1 {
		sign = -1
	}
	b := re.Budget
	s := re.Series[0]
	pts := make([]curve.Point, len(s.Points))
	add := multiple*b.Max - sign*re.slope
	for j, p := range s.Points {
		p.V = sign*p.V + add*b.Per.X(p)
		pts[j] = p
	}
	s.Points = onGrid(pts, s.Points)
	return []curve.Budget{b}, []curve.Series{s}, re.Early
}

// pastWarmup says whether p is in the window a slope budget is fitted on:
// the warm-up is left out of the fit because the stimulus' first ramp
// (a pool filling, a first batch of in-flight calls) is in it, and a
// rotation must not carry that ramp into the window.
func pastWarmup(b curve.Budget, from float64, p curve.Point) bool {
	if b.Per == curve.PerOp {
		return p.Op >= b.Warmup
	}
	return p.T >= from+b.Warmup
}

// onGrid rounds pts' values to the resolution of the measured points
// (one count, one page): a real leak shows in the same steps as the noise
// it grows under, and a verdict rule that leans on the series' resolution
// must be measured on series that have it.
func onGrid(pts, measured []curve.Point) []curve.Point {
	vs := make([]float64, len(measured))
	for i, p := range measured {
		vs[i] = p.V
	}
	res := curve.Resolution(vs)
	if res <= 0 {
		return pts
	}
	for i := range pts {
		pts[i].V = res * math.Round(pts[i].V/res)
	}
	return pts
}

// Shifted is a real series drawn at random (negated or not), its trend
// replaced by a true slope of multiple times its budget as in Injected,
// and its residuals in the fitted window (after the warm-up, before the
// settle) rotated by a random offset: the same noise, autocorrelation and
// resolution in another order, so a few dozen real series give a thousand
// null runs. The rotation's seam is one jump of at most the noise's range.
func Shifted(reals []Real, r *rand.Rand, multiple float64) ([]curve.Budget, []curve.Series, bool) {
	i := r.IntN(2 * len(reals))
	re := reals[i/2]
	sign := 1.0
	if i%2 == 1 {
		sign = -1
	}
	b, s := re.Budget, re.Series[0]
	from, _ := s.PhaseAt(curve.PhaseStimulus)
	to, settled := s.PhaseAt(curve.PhaseSettle)
	var idx []int
	for j, p := range s.Points {
		if p.T >= from && (!settled || p.T < to) && pastWarmup(b, from, p) {
			idx = append(idx, j)
		}
	}
	pts := make([]curve.Point, len(s.Points))
	res := make([]float64, len(s.Points))
	for j, p := range s.Points {
		res[j] = sign*p.V - sign*re.slope*b.Per.X(p)
		pts[j] = p
	}
	if len(idx) > 1 {
		k := r.IntN(len(idx))
		rot := make([]float64, len(idx))
		for n := range idx {
			rot[n] = res[idx[(n+k)%len(idx)]]
		}
		for n, j := range idx {
			res[j] = rot[n]
		}
	}
	for j := range pts {
		pts[j].V = res[j] + multiple*b.Max*b.Per.X(pts[j])
	}
	s.Points = onGrid(pts, s.Points)
	return []curve.Budget{b}, []curve.Series{s}, re.Early
}
