// Package containerdhugelogline reproduces containerd's CRI logger
// buffering a newline-free log line whole when max_container_log_line_size
// is -1: containerd's RSS follows the writer until the node is lost.
package containerdhugelogline

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Budgets, from measurements on containerd 1.6.20: with -1 RSS grows as
// fast as the writer writes (~52 MiB/s under a 50 MiB/s writer: the whole
// line is buffered); with 16384 it stays flat at ~47 MiB. 1 MiB/s is far
// above the flat case's noise on a host and far below the leak.
// The growth ceiling, 16 MiB, is what a split-line logger may hold.
var budgets = []curve.Budget{
	{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 1 << 20, Warmup: 1,
		Why: "flat at ~47 MiB with 16384; with -1 as fast as the writer writes (~52 MiB/s under 50 MiB/s)"},
	{Metric: "containerd_rss_bytes", Kind: curve.Growth, Max: 16 << 20,
		Why: "a split-line logger holds one 16 KiB line per container, not the stream"},
}

// Incident is containerd-huge-log-line as data.
func Incident() incident.Incident {
	// 20 MiB/s for ~26 s: the leak is still 20x the slope budget and
	// breaches the growth budget within a second, and the flat case's
	// window (~27 s after the warm-up) holds for certain even in a guest
	// under emulation, whose RSS noise leaves 13 s of a 50 MiB/s writer
	// inconclusive under the calibrated rules (interval +-2.6 MiB/s).
	w := writer{rate: 20 << 20, total: 512 << 20, tail: 3 * time.Second}
	return incident.Incident{
		ID:      "containerd-huge-log-line",
		Title:   "containerd CRI buffers a newline-free log line whole with max_container_log_line_size = -1",
		Runtime: runtime.Containerd,
		Summary: "Nodes were lost every 15-30 minutes: containerd grew at up to 1 GB/s. The CRI plugin ran " +
			"with max_container_log_line_size = -1, so its logger keeps a log line in memory until it " +
			"sees a newline, and one container printed a huge line with none.",
		Source:   "https://github.com/containerd/cri/pull/761 (the setting), https://github.com/labring-actions/runtime/issues/14 (-1 shipped in a distro config)",
		Affected: "every containerd with CRI max_container_log_line_size <= 0 (measured: 1.6.20, 1.7.17, 1.7.18, 2.0.0)",
		Fixed:    "configuration: the default 16384 (or any positive limit) splits long lines",
		Images:   []incident.Image{"pause", "hugeline"},
		// Regression mode runs the writer on the user's config.toml and
		// holds it to the fixed variant's budgets: -1 fails, 16384 passes.
		Regression: "default",
		// It shares the machine: the 20 MiB/s writer, containerd's log
		// pipeline and the sampler keep about half of one core busy (0.4-0.5
		// of the 2 reference cores, measured over the drive), and its own
		// verdicts are a 20x-budget leak and a flat line.
		Variants: []incident.Variant{
			{
				Name:    "unlimited",
				Expect:  curve.Breach,
				Why:     "-1 buffers the whole line: RSS follows the writer",
				Sandbox: incident.Sandbox{Containerd: runtime.ContainerdConfig{CRI: map[string]any{"max_container_log_line_size": -1}}},
				Budgets: budgets,
				Timeout: 90 * time.Second,
				// Per second: a guest's writer, several times slower, may
				// stay under it, so it is in the full guest runs only.
				Guest: incident.InGuest,
				Case:  w,
			},
			{
				Name:    "default",
				Expect:  curve.Hold,
				Why:     "16384 splits the line into 16 KiB entries: RSS stays flat",
				Sandbox: incident.Sandbox{Containerd: runtime.ContainerdConfig{CRI: map[string]any{"max_container_log_line_size": 16384}}},
				Budgets: budgets,
				Timeout: 90 * time.Second,
				// The short guest check: CRI pods on cgroup v2 in ~35 s of
				// the guest's time, and a hold whatever the machine's speed.
				Guest: incident.GuestCheck,
				Case:  w,
			},
		},
	}
}
