package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/harness/workload"
)

// Huge-log-line workload: a newline-free writer, bounded so the machine is
// never at risk (512 MiB at 50 MiB/s is ~10 s of writing, and the memory
// guard's 4 GiB is far above what an unlimited containerd can buffer of it).
const (
	hugeLineRate  = 50 << 20
	hugeLineTotal = 512 << 20
	// hugeLineTail keeps sampling after the writer is done, to see whether
	// memory comes back.
	hugeLineTail = 3 * time.Second
)

// Budgets, from measurements on containerd 1.6.20 (DESIGN.md, issue 2):
// with -1 RSS grows ~52 MiB/s under the 50 MiB/s writer (the whole line is
// buffered); with 16384 it stays flat at ~47 MiB. 1 MiB/s is far above the
// flat case's noise and far below the leak, so both verdicts are clear-cut
// within a few seconds. The growth ceiling is the 16 MiB.
var hugeLineBudgets = []curve.Budget{
	{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 1 << 20, Warmup: 1,
		Why: "flat at ~47 MiB with 16384; ~52 MiB/s with -1 under a 50 MiB/s writer"},
	{Metric: "containerd_rss_bytes", Kind: curve.Growth, Max: 16 << 20,
		Why: "a split-line logger holds one 16 KiB line per container, not the stream"},
}

func init() {
	register(scenario.Scenario{
		ID:      "containerd-huge-log-line",
		Title:   "containerd CRI buffers a newline-free log line whole with max_container_log_line_size = -1",
		Runtime: runtime.Containerd,
		Summary: "Nodes were lost every 15-30 minutes: containerd grew at up to 1 GB/s. The CRI plugin ran " +
			"with max_container_log_line_size = -1, so its logger keeps a log line in memory until it " +
			"sees a newline, and one container printed a huge line with none.",
		Source:   "https://github.com/containerd/cri/pull/761 (the setting), https://github.com/labring-actions/runtime/issues/14 (-1 shipped in a distro config)",
		Affected: "every containerd with CRI max_container_log_line_size <= 0 (measured: 1.6.20, 1.7.17, 1.7.18, 2.0.0)",
		Fixed:    "configuration: the default 16384 (or any positive limit) splits long lines",
		Images:   []string{"pause", "hugeline"},
		// Regression mode runs the writer on the user's config.toml and
		// holds it to the fixed variant's budgets: -1 fails, 16384 passes.
		Regression: "default",
		Variants: []scenario.Variant{
			{
				Name:     "unlimited",
				Expect:   curve.Breach,
				Why:      "-1 buffers the whole line: RSS follows the writer",
				Sandbox:  scenario.SandboxSpec{Containerd: runtime.ContainerdConfig{MaxContainerLogLineSize: -1}},
				Budgets:  hugeLineBudgets,
				Timeout:  90 * time.Second,
				Stimulus: hugeLineStimulus,
			},
			{
				Name:     "default",
				Expect:   curve.Hold,
				Why:      "16384 splits the line into 16 KiB entries: RSS stays flat",
				Sandbox:  scenario.SandboxSpec{Containerd: runtime.ContainerdConfig{MaxContainerLogLineSize: 16384}},
				Budgets:  hugeLineBudgets,
				Timeout:  90 * time.Second,
				Stimulus: hugeLineStimulus,
			},
		},
	})
}

// hugeLineStimulus runs one pod whose container writes the newline-free
// stream, and samples until the writer is done plus a short tail. Each op is
// one second of writing, so per-op and per-second curves agree.
func hugeLineStimulus(ctx context.Context, e *scenario.Env) error {
	cri, err := workload.DialCRI(ctx, e.Sandbox.Address())
	if err != nil {
		return err
	}
	e.Defer(func(context.Context) error { return cri.Close() })

	logDir := filepath.Join(e.Sandbox.Root(), "pod-logs")
	pod, err := cri.RunPod(ctx, "hugeline", logDir)
	if err != nil {
		return err
	}
	e.Defer(func(ctx context.Context) error { return cri.RemovePod(ctx, pod) })

	_, err = cri.RunContainer(ctx, pod, workload.ContainerSpec{
		Name:    "hugeline",
		Image:   e.Images["hugeline"],
		Args:    []string{"-rate", fmt.Sprint(hugeLineRate), "-total", fmt.Sprint(hugeLineTotal)},
		LogPath: "hugeline.log",
	})
	if err != nil {
		return err
	}
	e.Logf("hugeline writing %d MiB at %d MiB/s with no newline", hugeLineTotal>>20, hugeLineRate>>20)

	writing := time.Duration(float64(hugeLineTotal) / hugeLineRate * float64(time.Second))
	deadline := time.Now().Add(writing + hugeLineTail)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			e.Ops.Add(1)
		}
	}
	return nil
}
