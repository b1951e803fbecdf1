package report

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestTidyNumbersShortensOnlyLongDecimals(t *testing.T) {
	for in, want := range map[string]string{
		"peak 5.5979847640790835e+07, ceiling 5.36870912e+08":   "peak 56M, ceiling 537M",
		"12 points at 3 distinct x after warm-up 2.5s":          "12 points at 3 distinct x after warm-up 2.5s",
		"median of last 3s is 0.123456789 above":                "median of last 3s is 0.123 above",
		"waited 30.000123s for pid 123456 on containerd 1.7.18": "waited 30s for pid 123456 on containerd 1.7.18",
		"version 20.10.24567 and v1.23456":                      "version 20.10.24567 and v1.23456",
	} {
		if got := tidyNumbers(in); got != want {
			t.Errorf("tidyNumbers(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEvalDetailSpeaksTheMetricsUnit(t *testing.T) {
	for _, c := range []struct {
		e    curve.Evaluation
		want string
	}{
		{curve.Evaluation{Budget: curve.Budget{Kind: curve.Ceiling, Max: 512 << 20}, Verdict: curve.Breach, Measured: 1315172352},
			"peak 1.22 GiB, ceiling 512 MiB"},
		{curve.Evaluation{Budget: curve.Budget{Kind: curve.Slope, Per: curve.PerSecond, Max: 1 << 20}, Verdict: curve.Breach,
			Fit: &curve.Fit{N: 133, Slope: 5.5979847640790835e+07}}, "Theil-Sen fit of 133 points, budget 1 MiB/s"},
		{curve.Evaluation{Budget: curve.Budget{Kind: curve.Residual, Max: 5}, Verdict: curve.Hold, Measured: 1.5, Baseline: 60.123456},
			"median of the last 3s is 1.5 goroutines above baseline 60.1 goroutines"},
		{curve.Evaluation{Budget: curve.Budget{Kind: curve.Slope, Per: curve.PerOp}, Verdict: curve.Inconclusive,
			Detail: "4 points at 2 distinct x after warm-up 0.333333333op: too few to fit a slope"},
			"4 points at 2 distinct x after warm-up 0.333op: too few to fit a slope"},
	} {
		unit := "bytes"
		if c.e.Budget.Kind == curve.Residual {
			unit = "goroutines"
		}
		if got := evalDetail(c.e, unit); got != c.want {
			t.Errorf("evalDetail(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
