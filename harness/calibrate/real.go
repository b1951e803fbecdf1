package calibrate

import (
	"fmt"

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
	s.Points = pts
	return []curve.Budget{b}, []curve.Series{s}, re.Early
}
