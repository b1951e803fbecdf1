package results

import (
	"math"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestQuantity(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{5.4e7, "bytes/s", "51.5 MiB/s"},
		{1 << 20, "bytes/s", "1 MiB/s"},
		{1e6, "bytes/s", "977 KiB/s"},
		{8e8, "bytes", "763 MiB"},
		{4 << 30, "bytes", "4 GiB"},
		{512, "bytes", "512 B"},
		{-3712, "bytes/s", "-3.62 KiB/s"},
		{0, "bytes", "0 B"},
		{2, "goroutines/op", "2 goroutines/op"},
		{0.25, "goroutines/op", "0.25 goroutines/op"},
		{4096, "fds", "4096 fds"},
		{123456, "dentries", "123k dentries"},
		{2.5e6, "", "2.5M"},
		{0.0001234, "fds/op", "1.23e-04 fds/op"},
		{math.Inf(1), "bytes", "+Inf"},
	} {
		if got := Quantity(c.v, c.unit); got != c.want {
			t.Errorf("Quantity(%g, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

// A fit on a window too short to bound its slope prints the slope and no
// interval, never an interval that leaves the slope out.
func TestFitIntervalShowsOnlyAnIntervalAroundTheSlope(t *testing.T) {
	bounded := curve.Fit{Slope: 2, Lo: 1.5, Hi: 2.5, Confidence: 0.98}
	if got := FitInterval(bounded, "fds"); got != " (98% CI 1.5 fds to 2.5 fds)" {
		t.Fatalf("bounded slope: %q", got)
	}
	short := curve.Fit{Slope: 2, Confidence: 0.98, Saturated: true}
	if got := FitInterval(short, "fds"); got != "" {
		t.Fatalf("a slope with no interval (window too short) printed %q", got)
	}
}
