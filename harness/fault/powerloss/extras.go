package powerloss

import (
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
)

// bootExtras are the restart's numbers for the report: the outcome gauges'
// final values, and the watchdogs' peak RSS and peak growth rate in MiB.
// They are what happened, not budget measurements, so they come from the
// series, whichever budgets a variant has.
func bootExtras(series []curve.Series) map[string]float64 {
	out := map[string]float64{}
	for _, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		switch s.Metric {
		case "dockerd_boot_s", "dockerd_exit_code", "dockerd_networks_lost":
			out[strings.TrimPrefix(s.Metric, "dockerd_")] = s.Points[len(s.Points)-1].V
		case "dockerd_rss_peak_bytes", "containerd_rss_peak_bytes":
			out[strings.TrimSuffix(s.Metric, "_bytes")+"_mib"] = s.Max() / (1 << 20)
		case "dockerd_rss_rate_peak_bytes_per_s", "containerd_rss_rate_peak_bytes_per_s":
			out[strings.TrimSuffix(s.Metric, "_bytes_per_s")+"_mib_per_s"] = s.Max() / (1 << 20)
		}
	}
	return out
}
