// Package dockerdkilldstate reproduces dockerd leaking goroutines and file
// descriptors when kubelet keeps stopping a container whose process sits in
// uninterruptible sleep on a hung FUSE mount: before 20.10.10 every abandoned
// stop call leaves two goroutines and its connection's fd behind for good.
package dockerdkilldstate

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// The kubelet-shaped loop, from measurements: ContainerStop with t=1 and a
// 2 s client deadline, back to back. On dockerd 20.10.5 every abandoned call
// leaves 2 goroutines and 1 fd behind for good; on 20.10.24 ~7 calls are in
// flight at once (+13..16 goroutines, +5..9 fds) and drain within ~10 s of
// the loop. 20 calls show a leak of ~40 goroutines, the settle phase shows
// whether it drains.
const (
	// calls caps the loop; it ends as soon as its slopes have decided
	// (incident.Env.Enough): a leak after ~20 calls, a hold usually after
	// 27-30. One 20.10.24 hold in six suite runs was still undecided at
	// 40 (its fd slope's interval ended at 0.257 against 0.25: in-flight
	// fds come and go in batches), so the cap leaves room for twice the
	// usual window after the warm-up.
	calls = 60
	// controlCalls is the control's loop: a stop and start take ~0.35 s
	// there, so 40 calls would leave ~9 s after the warm-up, less than the
	// 12 s the calibrated rules need to bound a slope at all
	// (curve.MinBlockedSeconds). 80 leave ~23 s; the loop ends earlier
	// once its slopes hold for certain (incident.Env.Enough).
	controlCalls = 80
	stopTimeout  = 1
	deadline     = 2 * time.Second
	// startDeadline bounds the control loop's restart of its container.
	startDeadline = 30 * time.Second
	settle        = 25 * time.Second
	// warmup ops are skipped before fitting: the in-flight plateau builds
	// up over the first ~10 calls.
	warmup = 15
)

// affected is where the leak lives: every dockerd before 20.10.10, the
// release with moby PR #42956. Measured holding on 20.10.24, 26.1.5, 28.5.2
// and docker 29 (-0.04 goroutines per stop call).
func affected() incident.Ranges {
	return incident.Ranges{{Before: "20.10.10", Note: "fixed in 20.10.10 by moby PR #42956"}}
}

// Images the variants start.
const (
	readerImage   incident.Image = "dstate-reader"
	fusehangImage incident.Image = "fusehang"
	pauseImage    incident.Image = "pause"
)

// budgets: per-op slopes after warm-up: a leak is 2 goroutines and 1 fd per
// call, a plateau ~0; 0.25/op is 8x (goroutines) and 4x (fds) below the leak
// and far above the plateau's noise. In-flight peaks: 20.10.24 holds at most
// ~16 goroutines and ~9 fds above baseline; a leak passes them after ~20
// calls. Residuals: the median of the last 5 s of a 25 s settle, against the
// pre-loop baseline; 20.10.24 ends within 1-2 of baseline.
//
// A function, not a package variable, so no run can alter another's.
func budgets() []curve.Budget {
	return []curve.Budget{
		{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: warmup,
			Why: "20.10.5 leaks 2.0 goroutines per stop call (Daemon.Kill + State.Wait.func1); 20.10.24 plateaus"},
		{Metric: "dockerd_fds", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: warmup,
			Why: "20.10.5 leaks the API connection's fd per call; 20.10.24 plateaus"},
		{Metric: "dockerd_goroutines", Kind: curve.Growth, Max: 40,
			Why: "in flight on 20.10.24: at most ~16 above baseline"},
		{Metric: "dockerd_fds", Kind: curve.Growth, Max: 20,
			Why: "in flight on 20.10.24: at most ~9 above baseline"},
		{Metric: "dockerd_goroutines", Kind: curve.Residual, Max: 6, SettleWindow: 5,
			Why: "20.10.24 drains within ~10 s of the loop; a leak keeps every goroutine"},
		{Metric: "dockerd_fds", Kind: curve.Residual, Max: 4, SettleWindow: 5,
			Why: "20.10.24 drains within ~10 s of the loop; a leak keeps every fd"},
	}
}

// Incident is dockerd-kill-dstate as data.
func Incident() incident.Incident {
	return incident.Incident{
		ID:      "dockerd-kill-dstate",
		Title:   "docker stop on a container stuck in D state leaks goroutines and fds in dockerd",
		Runtime: runtime.Dockerd,
		Summary: "A node alarmed at 80% fd usage; dockerd held 26 GB and ~1.57 million goroutines. A container's " +
			"process sat in uninterruptible sleep on a hung FUSE mount and could not die; kubelet called docker " +
			"stop again and again with a timeout, and every abandoned call left two goroutines (Daemon.Kill waiting " +
			"on State.Wait for an exit event that never came) and its connection's fd behind.",
		Source:   "https://github.com/moby/moby/pull/42956 (the fix)",
		Affected: "dockerd before 20.10.10 (measured: 20.10.5 from Debian bullseye)",
		Fixed:    "dockerd 20.10.10 (moby PR #42956); measured holding on 20.10.24",
		Images:   []incident.Image{readerImage, fusehangImage, pauseImage},
		// Regression mode runs the plain kill loop on the user's dockerd:
		// an upgrade that brings the leak back breaches its per-call budgets.
		Regression: "dstate",
		Variants: []incident.Variant{
			variant("dstate", curve.Hold, "20.10.24: calls in flight plateau and drain after the loop", "",
				stuckReader{hang: hostHang{}}),
			variant("dstate-20-10-5", curve.Breach, "20.10.5: every abandoned stop call leaks 2 goroutines and 1 fd", "20.10.5",
				stuckReader{hang: hostHang{}}).In(incident.InGuest),
			variant("dstate-sidecar", curve.Hold, "the CSI shape: the FUSE server in a sidecar container, the reader on an rslave bind", "",
				stuckReader{hang: sidecarHang{}}),
			{
				Name: "control", Expect: curve.Hold, Why: "the same loop on a container that dies normally: nothing in flight, nothing kept",
				Budgets: budgets(), RunToEnd: true, Interval: 250 * time.Millisecond, Timeout: 4 * time.Minute,
				Guest: incident.InGuest,
				Case:  restarter{},
			},
		},
	}
}

// variant is one kill loop on a reader stuck in D. Every variant on a stuck
// reader names where the leak lives, so a matrix expects it back on any
// dockerd before the fix and a hold on every later one.
func variant(name string, expect curve.Verdict, why, version string, c incident.Case) incident.Variant {
	return incident.Variant{
		Name: name, Expect: expect, Why: why,
		Sandbox:  incident.Sandbox{Version: version},
		Budgets:  budgets(),
		RunToEnd: true,
		Interval: 250 * time.Millisecond,
		Timeout:  4 * time.Minute,
		Affected: affected(),
		Case:     c,
	}
}
