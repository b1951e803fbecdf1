package curve

import (
	"fmt"
)

// Kind is what a budget bounds.
type Kind string

const (
	// Slope bounds the robust growth rate (per second or per op) after a warm-up.
	Slope Kind = "slope"
	// Ceiling bounds the largest value seen (an in-flight peak, a memory cap).
	Ceiling Kind = "ceiling"
	// Growth bounds the largest value minus the baseline (the value before the
	// stimulus phase, or the first sample).
	Growth Kind = "growth"
	// Residual bounds what is left above baseline once the run settles: the
	// median of the last SettleWindow seconds minus the baseline. It tells a
	// leak from a bounded in-flight plateau that drains.
	Residual Kind = "residual"
)

// Budget is one bound a metric's curve must stay within.
type Budget struct {
	Metric string  `json:"metric"`
	Kind   Kind    `json:"kind"`
	Per    Axis    `json:"per,omitempty"` // for Slope
	Max    float64 `json:"max"`
	// Warmup is skipped before fitting a slope, in the axis' units (seconds or ops).
	Warmup float64 `json:"warmup,omitempty"`
	// SettleWindow is how many trailing seconds a Residual budget takes the median of.
	SettleWindow float64 `json:"settle_window,omitempty"`
	// Resolution is, for a Slope, the smallest change of the metric the
	// source resolves (in the metric's unit): a counter that moves in
	// batches hides any growth smaller than one batch. A slope fitted over a
	// span too short for a growth at the budget's rate to exceed it
	// (span x Max < Resolution) is inconclusive, never a hold or a breach:
	// the run was too short for the budget, whatever the fit says.
	Resolution float64 `json:"resolution,omitempty"`
	// Why says where the number comes from (a measurement, a write-up).
	Why string `json:"why,omitempty"`
}

// Validate reports a budget that cannot be evaluated, naming what is wrong.
func (b Budget) Validate() error {
	switch {
	case b.Metric == "":
		return fmt.Errorf("budget %s: metric is empty", b.Kind)
	case b.Kind != Slope && b.Kind != Ceiling && b.Kind != Growth && b.Kind != Residual:
		return fmt.Errorf("budget on %s: unknown kind %q (want slope, ceiling, growth or residual)", b.Metric, b.Kind)
	case b.Kind == Slope && b.Per != PerSecond && b.Per != PerOp:
		return fmt.Errorf("slope budget on %s: per must be %q or %q, got %q", b.Metric, PerSecond, PerOp, b.Per)
	case b.Max < 0 && b.Kind != Slope:
		return fmt.Errorf("budget %s on %s: max %g is negative", b.Kind, b.Metric, b.Max)
	case b.Warmup < 0 || b.SettleWindow < 0 || b.Resolution < 0:
		return fmt.Errorf("budget %s on %s: warmup, settle window and resolution must not be negative", b.Kind, b.Metric)
	case b.Resolution > 0 && (b.Kind != Slope || b.Max <= 0):
		return fmt.Errorf("budget %s on %s: a resolution needs a slope budget with a positive max (the span it needs is resolution / max)", b.Kind, b.Metric)
	}
	return nil
}

// String reads like "containerd_rss_bytes slope <= 1e+06/s".
func (b Budget) String() string {
	switch b.Kind {
	case Slope:
		return fmt.Sprintf("%s slope <= %g/%s", b.Metric, b.Max, b.Per)
	default:
		return fmt.Sprintf("%s %s <= %g", b.Metric, b.Kind, b.Max)
	}
}

// Unit is the unit of the budget's measured value given the metric's unit.
func (b Budget) Unit(metricUnit string) string {
	if b.Kind == Slope {
		return metricUnit + "/" + string(b.Per)
	}
	return metricUnit
}

// MinSpan is the span of the fitted axis (ops or seconds) over which a
// growth at the budget's rate exceeds the metric's resolution; 0 when the
// budget names no resolution.
func (b Budget) MinSpan() float64 {
	if b.Kind != Slope || b.Resolution <= 0 || b.Max <= 0 {
		return 0
	}
	return b.Resolution / b.Max
}
