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
	// DefaultRules judge a run unless a caller picks others.
	DefaultRules = RulesV1
)

// ParseRules reads a rule set's name; "" is DefaultRules.
func ParseRules(s string) (Rules, error) {
	switch r := Rules(strings.TrimSpace(s)); r {
	case "":
		return DefaultRules, nil
	case RulesV1, RulesV2:
		return r, nil
	default:
		return "", fmt.Errorf("unknown verdict rules %q: want %q (Sen's interval, point estimate) or %q (calibrated, sequential, three-way)", s, RulesV1, RulesV2)
	}
}

// Of is the rules a recorded evaluation or result names; runs recorded
// before rules had names were judged with RulesV1.
func Of(recorded string) Rules {
	if recorded == "" {
		return RulesV1
	}
	return Rules(recorded)
}
