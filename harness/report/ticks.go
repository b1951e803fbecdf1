package report

import (
	"math"
	"strconv"

	"github.com/relapse-dev/relapse/harness/results"
)

// tick is one labelled axis position.
type tick struct {
	v     float64
	label string
}

// niceStep returns a step of 1, 2 or 5 times a power of ten that cuts span
// into about n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	default:
		return 10 * mag
	}
}

// axisTicks returns the range [lo', hi'] widened to whole steps and labelled
// ticks inside it, in the unit's scale (MiB steps for bytes, k for large
// counts) so labels read "200 MiB" rather than "209715200".
func axisTicks(lo, hi float64, n int, unit string) (float64, float64, []tick) {
	sc := results.ScaleOf(math.Max(math.Abs(lo), math.Abs(hi)), unit)
	slo, shi := lo/sc.Div, hi/sc.Div
	if shi <= slo {
		shi = slo + 1
	}
	step := niceStep(shi-slo, n)
	start := math.Floor(slo/step) * step
	end := math.Ceil(shi/step) * step
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	var ts []tick
	for i := 0; ; i++ {
		v := start + float64(i)*step
		if v > end+step/2 {
			break
		}
		label := strconv.FormatFloat(v, 'f', decimals, 64)
		if label == "-0" {
			label = "0"
		}
		ts = append(ts, tick{v: v * sc.Div, label: sc.Label(label)})
	}
	return start * sc.Div, end * sc.Div, ts
}
