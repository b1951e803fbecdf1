package powerloss

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestBootExtrasTakeOutcomeAndPeaks(t *testing.T) {
	series := []curve.Series{
		{Metric: "dockerd_boot_s", Points: []curve.Point{{V: 1.4}}},
		{Metric: "dockerd_exit_code", Points: []curve.Point{{V: 2}}},
		{Metric: "dockerd_rss_peak_bytes", Points: []curve.Point{{V: 64 << 20}, {V: 2048 << 20}, {V: 0}}},
		{Metric: "containerd_rss_rate_peak_bytes_per_s", Points: []curve.Point{{V: 120 << 20}}},
		{Metric: "dockerd_networks_lost"}, // never set: left out
		{Metric: "dockerd_goroutines", Points: []curve.Point{{V: 40}}},
	}
	got := bootExtras(series)
	want := map[string]float64{"boot_s": 1.4, "exit_code": 2, "dockerd_rss_peak_mib": 2048, "containerd_rss_rate_peak_mib_per_s": 120}
	if len(got) != len(want) {
		t.Errorf("extras %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %g, want %g (all: %v)", k, got[k], v, got)
		}
	}
}
