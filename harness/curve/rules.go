package curve

import (
	"fmt"
	"strings"
)

// Rules names the statistics a slope budget is judged with. Results record
// the rules that judged them, so an old run can be re-judged under the
// rules it was made with or under newer ones and the difference explained.
type Rules string

const (
	// RulesV1 is Sen's rank interval at 95% and the point estimate: a slope
	// breaches when the estimate is over the budget (certain when the lower
	// bound is), else it holds. It assumes independent residuals and does
	// not correct for the watcher's repeated looks; the calibration
	// (harness/calibrate) measures what that costs.
	RulesV1 Rules = "v1"
	// RulesV2 is the calibrated rule set: Sen's interval at a sequential
	// boundary valid over every look of a run (a normal mixture at 1% per
	// direction), widened for lag-1 autocorrelation of the residuals
	// (effective sample size) and never narrower than one count of the
	// series' resolution over the fitted span. The verdict is three-way:
	// breach when the interval lies above the budget, hold when it lies
	// below, otherwise inconclusive, saying how much longer a run would
	// need.
	RulesV2 Rules = "v2"
	// RulesV3 is RulesV2's three-way verdict and sequential boundary on a
	// fit that averages the window into blocks of seconds (BlockedFit): a
	// least-squares line through the block means and a Student t interval
	// from their scatter, widened for what correlation is left between
	// neighbouring blocks, and never narrower than 1.5 steps of the
	// series' resolution over the span. A counter's staircase, an
	// in-flight batch or a heap's slow drift, which leave RulesV2 a
	// handful of effective points (or, where slow, an interval too
	// narrow), average out within blocks or show as scatter between them.
	RulesV3 Rules = "v3"
	// DefaultRules judge a run unless a caller picks others. RulesV3: on
	// the calibration's rotated real hold series it false-breached 1.3% of
	// replays at a slope equal to the budget, RulesV1 32.9%
	// (docs/calibration). Results recorded without rules stay RulesV1 (Of).
	DefaultRules = RulesV3
)

// ParseRules reads a rule set's name; "" is DefaultRules.
func ParseRules(s string) (Rules, error) {
	switch r := Rules(strings.TrimSpace(s)); r {
	case "":
		return DefaultRules, nil
	case RulesV1, RulesV2, RulesV3:
		return r, nil
	default:
		return "", fmt.Errorf("unknown verdict rules %q: want %q (Sen's interval, point estimate), %q (calibrated, sequential, three-way) or %q (v2 on block means in seconds)", s, RulesV1, RulesV2, RulesV3)
	}
}

// ThreeWay says the rules decide hold, breach or inconclusive, each with
// an interval valid over every look: a run may stop early on a hold too,
// and is judged on what its deciding look saw.
func (r Rules) ThreeWay() bool { return r == RulesV2 || r == RulesV3 }

// Of is the rules a recorded evaluation or result names; runs recorded
// before rules had names were judged with RulesV1.
func Of(recorded string) Rules {
	if recorded == "" {
		return RulesV1
	}
	return Rules(recorded)
}
