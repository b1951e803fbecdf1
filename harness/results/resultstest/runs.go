package resultstest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// MiB is a mebibyte, the unit the RSS curves are written in.
const MiB = 1 << 20

// RSSBudgets are the huge-log-line incident's budgets: 1 MiB/s slope and
// 16 MiB growth.
func RSSBudgets() []curve.Budget {
	return []curve.Budget{
		{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 1 * MiB, Warmup: 1},
		{Metric: "containerd_rss_bytes", Kind: curve.Growth, Max: 16 * MiB},
	}
}

// RSSStimulus is how long the RSS curve's stimulus lasts, in seconds:
// after RSSBudgets' 1 s warm-up it leaves a 17 s window, 8 blocks of 2 s
// for curve.DefaultRules (a window of 12 s or less decides nothing), and
// a rate of 0.8 MiB/s stays under the 16 MiB growth budget.
const RSSStimulus = 18

// RSS is a containerd RSS curve: flat at 47 MiB with 0.2 MiB of noise for
// baseline seconds, then growing by rate bytes per second for RSSStimulus
// seconds, then 2 s of settle.
func RSS(seed uint64, baseline, rate float64) curve.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
		Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: baseline}, {Name: curve.PhaseSettle, T: baseline + RSSStimulus}}}
	for i := 0; float64(i)*0.1 <= baseline+RSSStimulus+2; i++ {
		t := float64(i) * 0.1
		v := 47*MiB + rng.Float64()*0.2*MiB
		if t >= baseline {
			v += math.Min(t-baseline, RSSStimulus) * rate
		}
		s.Points = append(s.Points, curve.Point{T: t, Op: math.Max(0, math.Floor(t-baseline)), V: v})
	}
	return s
}

// Measured is one containerd variant to record: its identity and its one
// series, judged against RSSBudgets.
type Measured struct {
	Incident, Variant, Version string
	Expect                     curve.Verdict
	Series                     curve.Series
}

// Measure is Measured, spelled as a call for tables of test cases.
func Measure(incident, variant, version string, expect curve.Verdict, s curve.Series) Measured {
	return Measured{Incident: incident, Variant: variant, Version: version, Expect: expect, Series: s}
}

// OnlyPair returns the one pair of a comparison, failing the test when
// there is not exactly one.
func OnlyPair(t testing.TB, c judge.Comparison) judge.Pair {
	t.Helper()
	if len(c.Pairs) != 1 {
		t.Fatalf("got %d pairs, want 1: %+v", len(c.Pairs), c.Pairs)
	}
	return c.Pairs[0]
}

// WriteRun judges and records the variants with a real Store (no
// renderer) into a fresh results directory and loads the run back, as
// `relapse ab` does. It returns the run and its directory.
func WriteRun(t testing.TB, id string, vs ...Measured) (results.Run, string) {
	t.Helper()
	s, err := results.Open(t.TempDir(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		r := results.Result{Incident: v.Incident, Variant: v.Variant, Runtime: string(runtime.Containerd), Version: v.Version, Expect: string(v.Expect)}
		series := []curve.Series{v.Series}
		judge.Fill(&r, judge.Judge(RSSBudgets(), series), series)
		if curve.DefaultRules != curve.RulesV1 {
			r.Rules = string(curve.DefaultRules) // as the engine records them
		}
		if err := s.Add(r, series); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := results.Load(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return run, s.Dir()
}
