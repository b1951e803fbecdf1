// Package containerdexecsyncdrainleak reproduces containerd's CRI ExecSync
// waiting for ever for an exec's output to close when the probe command
// leaves a background child holding its stdout and stderr: every
// Kubernetes exec probe call leaves goroutines and FIFO fds in containerd
// and its shim until the node runs out of memory.
package containerdexecsyncdrainleak

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Images the variants start.
const (
	spawnImage incident.Image = "execspawn"
	pauseImage incident.Image = "pause"
)

// The kubelet-shaped probe loop. An exec probe with timeoutSeconds 1 on
// several containers: 6 calls in flight, each abandoned by the client
// after 3 s (kubelet waits its 2 min runtime request timeout longer; 3 s
// keeps a run under a minute and changes nothing on the runtime's side,
// which sees the same cancellation). Every call ends at the client's
// deadline on every build measured (2.3.4 waits for the drain, 2.3.5 for
// the cancellation, 2.3.4 with a 2 s drain timeout for the shim's exec
// delete that follows it), so 90 calls take ~45 s. The fit after the
// warm-up then spans ~54 calls: calls in flight come and go in batches of
// 6 (24 goroutines), and the calibrated rules need ~40 calls of them to
// bound a slope of 1 per call both ways (docs/calibration/v3.md); the loop
// stops starting calls once the slopes have decided (incident.Env.Enough).
const (
	calls    = 90
	inFlight = 6
	timeout  = time.Second
	deadline = 3 * time.Second
	// settle: the fixed build releases a call ~13 s after it started (the
	// client's 3 s, then the shim's 10 s wait for the exec's output copy
	// when it deletes the exec); a settle shorter than ~15 s would call it
	// leaky. 25 s, judged on its last 5 s, leaves a margin.
	settle       = 25 * time.Second
	settleWindow = 5
	// warmup ops are skipped before fitting: on the fixed build the calls
	// still draining build a plateau of ~13 s worth of calls (~26 at 2
	// calls/s) before it flattens.
	warmup = 30
)

// command is the probe: it starts a sleeping copy of itself that inherits
// stdout and stderr, prints one line and exits 0 at once.
var command = []string{"/execspawn", "spawn"}

// budgets: per-call slopes after the warm-up, and what is left after the
// settle. Measured by hand on containerd 2.3.4: +4 goroutines (the handler
// parked in drainExecSyncIO, two io.Copy from the exec's FIFOs, a
// WaitGroup.Wait) and +4 fds per call in containerd, +10 fds per call in the
// pod's shim, all kept; on 2.3.5 and with drain_exec_sync_io_timeout = 2s
// back to baseline. A budget of 1/call (containerd) and 2.5/call (shim) is
// 4x below the leak.
//
// A function, not a package variable, so no run can alter another's.
func budgets() []curve.Budget {
	return []curve.Budget{
		{Metric: "containerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 1, Warmup: warmup,
			Why: "2.3.4 keeps 4 goroutines per call parked in drainExecSyncIO; a fixed build plateaus"},
		{Metric: "containerd_fds", Kind: curve.Slope, Per: curve.PerOp, Max: 1, Warmup: warmup,
			Why: "2.3.4 keeps each exec's stdout/stderr FIFOs open twice (4 fds per call)"},
		{Metric: "shim_fds", Kind: curve.Slope, Per: curve.PerOp, Max: 2.5, Warmup: warmup,
			Why: "2.3.4's shim keeps 10 fds per call for the exec's stdio"},
		{Metric: "containerd_goroutines", Kind: curve.Residual, Max: 8, SettleWindow: settleWindow,
			Why: "a fixed build drains within ~13 s of a call; a leak keeps every goroutine until the child dies"},
		{Metric: "containerd_fds", Kind: curve.Residual, Max: 8, SettleWindow: settleWindow,
			Why: "a fixed build drains within ~13 s of a call; a leak keeps every FIFO fd"},
		{Metric: "shim_fds", Kind: curve.Residual, Max: 10, SettleWindow: settleWindow,
			Why: "the shim closes an exec's FIFOs when it deletes the exec, at most 10 s after the call"},
	}
}

// affected is where the leak lives with the default drain timeout: every
// maintained release line got the fix in its own patch release. The 2.1
// line has no upstream fix release: its last tag, 2.1.9 (June 2026), still
// waits in drainExecSyncIO with no case for the caller's cancellation
// (internal/cri/server/container_execsync.go, identical from 2.1.0 to
// 2.1.9). Its matrix cell is Debian forky's 2.1.9+ds1-5, whose 2.1.9+ds1-4
// "backport[s the] upstream fix for CVE-2026-53495" (changelog.Debian), so
// that build holds; a 2.1.9 built from the module proxy
// (RELAPSE_CONTAINERD_FROM_SOURCE=1) is vulnerable, and the range below
// does not cover it.
func affected() incident.Ranges {
	const fix = "commit 9ec55f024, GHSA-7jxh-36q5-gcqv"
	return incident.Ranges{
		{Before: "1.7.35", Note: "fixed in 1.7.35 (" + fix + ")"},
		{From: "2.0.0", Before: "2.0.12", Note: "fixed in 2.0.12 (" + fix + ")"},
		{From: "2.1.0", Before: "2.1.9", Note: "no upstream 2.1 release has the fix (2.1.9 from the proxy still leaks); " +
			"the 2.1.9 build is Debian forky's 2.1.9+ds1-5, which backports " + fix + " since 2.1.9+ds1-4"},
		{From: "2.2.0", Before: "2.2.8", Note: "fixed in 2.2.8 (" + fix + ")"},
		{From: "2.3.0", Before: "2.3.5", Note: "fixed in 2.3.5 (" + fix + ")"},
	}
}

// Incident is containerd-execsync-drain-leak as data.
func Incident() incident.Incident {
	c := execProbe{
		loop:   ProbeLoopOptions{Calls: calls, InFlight: inFlight, Command: command, Timeout: timeout, Deadline: deadline},
		settle: settle,
	}
	variant := func(name string, expect curve.Verdict, why string, sb incident.Sandbox, in incident.Ranges) incident.Variant {
		return incident.Variant{
			Name: name, Expect: expect, Why: why, Sandbox: sb, Affected: in,
			Budgets: budgets(),
			// The settle is the evidence: it tells a leak from calls still
			// draining, and the dump after it shows only what stays.
			RunToEnd: true,
			Interval: 250 * time.Millisecond,
			Timeout:  3 * time.Minute,
			Case:     c,
		}
	}
	return incident.Incident{
		ID:      "containerd-execsync-drain-leak",
		Title:   "containerd CRI ExecSync waits for ever on stdio a probe's background child holds, leaking per call",
		Runtime: runtime.Containerd,
		Summary: "Nodes ran out of memory under Kubernetes exec probes: the probe's command started a background " +
			"child that kept the exec's stdout/stderr open and returned. containerd's CRI ExecSync waited in " +
			"drainExecSyncIO for the stdio to close with no case for the caller's cancellation (and, by default, " +
			"no timeout), so every probe call left goroutines, FIFO fds and memory in containerd and the pod's " +
			"shim until the children died.",
		Source: "https://github.com/containerd/containerd/security/advisories/GHSA-7jxh-36q5-gcqv (CVE-2026-53495); " +
			"fix commit 9ec55f024, release PR https://github.com/containerd/containerd/pull/14092",
		Affected: "containerd up to 1.7.34, up to 2.0.11, every upstream 2.1 release, 2.2.0-2.2.7 and 2.3.0-2.3.4 with " +
			"drain_exec_sync_io_timeout = \"0s\" (the default; measured: 2.3.4 and 1.7.34)",
		Fixed: "containerd 1.7.35, 2.0.12, 2.2.8, 2.3.5 (measured: 2.3.5 and 1.7.35); Debian's 2.1.9+ds1-4 and later " +
			"backport it to 2.1.9; on a vulnerable build, CRI drain_exec_sync_io_timeout > 0 bounds the wait",
		Images: []incident.Image{pauseImage, spawnImage},
		// Regression mode judges the user's config.toml on the user's
		// containerd with this workload: drain-timeout is the variant whose
		// hold comes from configuration (its knob is what the user's file
		// replaces). On a vulnerable build a config that leaves the timeout
		// at "0s" breaches with the measured slope; on a fixed build, or
		// with a timeout, it holds.
		Regression: "drain-timeout",
		Variants: []incident.Variant{
			variant("vulnerable", curve.Breach,
				"2.3.4 with the default drain_exec_sync_io_timeout = 0s: every call waits in drainExecSyncIO for good",
				incident.Sandbox{Version: "2.3.4"}, affected()),
			variant("fixed", curve.Hold,
				"2.3.5 ends the drain on the caller's cancellation; the shim releases the exec's stdio within ~10 s",
				incident.Sandbox{Version: "2.3.5"}, affected()),
			variant("vulnerable-1-7", curve.Breach,
				"1.7.34, the last vulnerable 1.7 release: the same drain with no case for the caller's cancellation",
				incident.Sandbox{Version: "1.7.34"}, affected()),
			variant("fixed-1-7", curve.Hold,
				"1.7.35 carries the fix to the 1.7 line",
				incident.Sandbox{Version: "1.7.35"}, affected()),
			// Unpinned: a matrix runs it on every containerd cell and expects
			// the breach exactly inside affected(); outside a matrix it runs
			// on the machine's containerd (bookworm's 1.6.20: a breach).
			variant("probe-loop", curve.Breach,
				"the probe loop on the build under test: every call waits in drainExecSyncIO for good on a release without the fix",
				incident.Sandbox{}, affected()),
			variant("drain-timeout", curve.Hold,
				"2.3.4 with drain_exec_sync_io_timeout = 2s: the drain gives up after 2 s and kills the exec",
				incident.Sandbox{Version: "2.3.4", Containerd: runtime.ContainerdConfig{CRI: map[string]any{"drain_exec_sync_io_timeout": "2s"}}},
				// A configuration, not the build, bounds the drain here.
				nil),
		},
	}
}
