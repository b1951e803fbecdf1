package live

import (
	"fmt"

	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/incident"
)

// maxRuns bounds the repetitions per leak size: a run takes most of a
// minute, and a name has room for two digits.
const maxRuns = 99

// Plan is runs repetitions of every multiple's variant, each repetition
// its own item (variant "<name>-rNN", so each gets its own results
// directory). The repetitions are interleaved (every multiple once, then
// every multiple again), so a drift of the machine over the hours affects
// every leak size alike and an interrupted calibration leaves a balanced
// sample.
func Plan(multiples []float64, runs int) (engine.Plan, error) {
	if runs < 1 || runs > maxRuns {
		return engine.Plan{}, fmt.Errorf("live calibration: %d runs per leak size: want 1 to %d", runs, maxRuns)
	}
	if len(multiples) == 0 {
		return engine.Plan{}, fmt.Errorf("live calibration: no leak sizes to run")
	}
	in, err := Incident(multiples)
	if err != nil {
		return engine.Plan{}, err
	}
	cat, err := incident.NewCatalog(in)
	if err != nil {
		return engine.Plan{}, err
	}
	base, err := engine.NewPlan(cat, engine.Filter{})
	if err != nil {
		return engine.Plan{}, err
	}
	var p engine.Plan
	for r := 1; r <= runs; r++ {
		for _, it := range base.Items {
			it.Variant.Name = fmt.Sprintf("%s-r%02d", it.Variant.Name, r)
			p.Items = append(p.Items, it)
		}
	}
	return p, nil
}
