// Package dockerdattachleak reproduces dockerd keeping an attach's
// goroutines and connection for good when the client disconnects from a
// container that prints nothing: a client that re-attaches in a loop grows
// dockerd by every attach.
package dockerdattachleak

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// pauseImage is the silent container: it never writes a byte.
const pauseImage incident.Image = "pause"

// The reconnecting client: up to 400 attaches, each held 100 ms (dockerd
// has wired the attach to the container's stdout by then) and cut by the
// client, one after another (~40 s); then a 20 s settle whose last 6 s
// follow a forced collection (see budgets). A fixed dockerd's fds are a
// sawtooth of ~5 s (see budgets): the calibrated rules need ~7 of its
// teeth, ~340 attaches, to bound the fd slope under half the leak, and
// the loop stops once the slopes have decided (incident.Env.Enough).
const (
	attaches = 400
	hold     = 100 * time.Millisecond
	deadline = 5 * time.Second
	settle   = 20 * time.Second
	// settleWindow: residuals are the median of the settle's last 5 s.
	settleWindow = 5
	warmup       = 10
)

// budgets: per-attach slopes after a short warm-up, and the residual after
// the settle, which ends with one forced garbage collection in dockerd.
// Measured: 26.1.5 keeps 4 goroutines and 1 fd per attach for good (every
// connection's client is gone, none is closed). 28.5.2 keeps no goroutine,
// but closes an ended attach's connection only when its garbage collector
// runs (its fds drop exactly at each collection, every ~5 s under this
// load): a sawtooth whose per-attach slope is 0.15-0.17 (95% CI up to
// 0.26), which is why the fd slope budget sits at 0.5 (half the leak), and
// whose residual after a collection is back at baseline.
//
// A function, not a package variable, so no run can alter another's.
func budgets() []curve.Budget {
	return []curve.Budget{
		{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 1, Warmup: warmup,
			Why: "26.1.5 keeps 4 goroutines per attach (the handler, CopyStreams and its errgroup, a copy from the silent stdout)"},
		{Metric: "dockerd_fds", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5, Warmup: warmup,
			Why: "26.1.5 keeps the attach's connection (1 fd per attach); 28.5.2's fds wait for the next collection (0.15-0.26/attach)"},
		{Metric: "dockerd_goroutines", Kind: curve.Residual, Max: 10, SettleWindow: settleWindow,
			Why: "a fixed dockerd notices the client's close and ends the attach"},
		{Metric: "dockerd_fds", Kind: curve.Residual, Max: 10, SettleWindow: settleWindow,
			Why: "after a forced collection a fixed dockerd holds no attach's connection; 26.1.5 holds all of them"},
	}
}

// affected is where the leak lives: every dockerd before the release with
// the fix (measured breaching: 20.10.5, 20.10.24, 26.1.5; holding: 28.5.2,
// 29.8.1).
func affected() incident.Ranges {
	return incident.Ranges{{Before: "27.0.1", Note: "fixed in 27.0.1 (moby PR #45052)"}}
}

// Incident is dockerd-attach-leak as data.
func Incident() incident.Incident {
	c := silentAttach{loop: AttachLoopOptions{Attaches: attaches, Hold: hold, Deadline: deadline}, settle: settle}
	variant := func(name string, expect curve.Verdict, why, version string) incident.Variant {
		return incident.Variant{
			Name: name, Expect: expect, Why: why,
			Sandbox:  incident.Sandbox{Version: version},
			Affected: affected(),
			Budgets:  budgets(),
			RunToEnd: true,
			Interval: 250 * time.Millisecond,
			Timeout:  3 * time.Minute,
			Case:     c,
		}
	}
	return incident.Incident{
		ID:      "dockerd-attach-leak",
		Title:   "dockerd keeps an attach's goroutines and connection after the client leaves a silent container",
		Runtime: runtime.Dockerd,
		Summary: "A client attached to a container's output (a monitoring agent, docker attach) and disconnected " +
			"while the container printed nothing. dockerd only noticed the client was gone when it next had " +
			"output to write, so each such attach kept its goroutines and its connection's fd; a client that " +
			"reconnected in a loop grew dockerd without bound.",
		Source:   "https://github.com/moby/moby/issues/37182 (report), https://github.com/moby/moby/pull/45052 (fix, first released in 27.0.1)",
		Affected: "dockerd before 27.0.1 (measured: 20.10.5, 20.10.24 and 26.1.5 from Debian)",
		Fixed:    "dockerd 27.0.1 (moby PR #45052); measured on 28.5.2 from Debian forky and 29.8.1",
		Images:   []incident.Image{pauseImage},
		// Regression mode runs the loop on the user's dockerd: only the
		// version fixes this, so a dockerd before the fix fails.
		Regression: "fixed",
		Variants: []incident.Variant{
			variant("vulnerable", curve.Breach, "26.1.5: every attach to a silent container is kept after the client leaves", "26.1.5"),
			variant("fixed", curve.Hold, "28.5.2 watches the client's connection and ends the attach when it closes", "28.5.2"),
			// Unpinned: a matrix runs it on every dockerd cell and expects the
			// breach before 27.0.1; outside a matrix it runs on the machine's
			// dockerd (bookworm's 20.10.24: a breach).
			variant("reconnect-loop", curve.Breach,
				"the reconnecting client on the build under test: a dockerd without the fix keeps every attach", ""),
		},
	}
}
