// Package dockerdrestorehang reproduces dockerd neither answering nor dying
// after a power loss: its restore waits on a containerd looping over a
// damaged meta.db, or bbolt waits on a flock another process holds on its
// local-kv.db, and the node sits NotReady instead of being restarted.
//
// After a power loss dockerd does not come back, and does not die either
// (or only after a long while), because a store it needs on the way up is
// damaged or held: the metadata store (meta.db) of the containerd it
// manages, or its own local-kv.db locked by another process.
//
// Measured on Debian's dockerd 20.10.24 with its containerd 1.6.20 (one
// network of 3 running containers, 2 cores): a B-tree cycle in a
// container's bucket of meta.db makes containerd's containers ListStream
// -> readContainer -> Bucket.ForEach walk it forever; dockerd's restore
// waits on that call (LoadContainer), its API never answers, and
// containerd grows 20-120 MB/s (GC sawtooth; it passed 256 MiB 5 s in, and
// reached its 2 GiB guard in 34 s when nothing stopped it; dockerd then
// came up). A zeroed v1 leaf panics containerd at start and dockerd gives
// up after 15.05 s ("timeout waiting for containerd to start", exit 1, ~65
// MiB). An exclusive flock on local-kv.db held by another process makes
// dockerd wait in bbolt.flock with flat RSS (~70 MiB) for 61.2 s, then
// exit 1 ("error while populating kmap: timeout").
package dockerdrestorehang

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/fault/powerloss"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// pauseImage is what the population's containers run.
const pauseImage incident.Image = "pause"

// memoryLimit is the guard's ceiling: a looping containerd reaches it in
// about half a minute, far above the 256 MiB budgets, so the verdict never
// depends on the guard.
const memoryLimit = 2 << 30

// Every variant's restart is sampled for tail after it ended, within the
// attempt's timeout.
const (
	tail    = time.Second
	timeout = 2 * time.Minute
)

// population: running containers are what dockerd restores from
// containerd (stopped ones have no containerd record).
func population() crash.Spec {
	return crash.Spec{Networks: 1, RunningPerNetwork: 3, Stopped: 1}
}

// sandbox: the guard's 2 GiB. The dockerd the engine starts in the host's
// namespace is restarted in a private one before anything network-related
// happens.
func sandbox() incident.Sandbox {
	return incident.Sandbox{MemoryLimit: memoryLimit}
}

// Budgets. Functions, not package variables, so no run can alter another's.
func waitBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_api_wait_s", Kind: curve.Ceiling, Max: 30,
		Why: "ready or failed within 30 s: an undamaged restart answers within 4 s, a dead containerd is given up on after 15 s"}
}

func startupRSSBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_rss_peak_bytes", Kind: curve.Ceiling, Max: 512 << 20,
		Why: "an undamaged restart of this population peaks at ~80 MiB on 20.10.24; the B-tree loops pass 512 MiB within 0.5-1.5 s"}
}

// metaCycleAffected is where the cycle in meta.db hangs the restart: a
// dockerd whose containerd walks the cycle. From 26.1.5 on, the containerd
// each dockerd ships with (1.7.24, 2.1.9, 2.3.5) runs bbolt's freelist
// check at open and panics on the cycle ("freepages: failed to get all
// reachable pages ... multiple references") instead of looping, so dockerd
// gives up on it after 15 s like on a zeroed leaf: the range is dockerd's,
// the change is its companion's.
func metaCycleAffected() incident.Ranges {
	return incident.Ranges{{Before: "26.1.5", Note: "finding: from dockerd 26.1.5 on, its companion containerd " +
		"(1.7.24, 2.1.9, 2.3.5) panics on the cycled meta.db and dockerd exits 1 after 15.04 s (\"panic: freepages: " +
		"failed to get all reachable pages (page 32: multiple references (stack: [13 32 32]))\"); containerd peaks at " +
		"26.8, 35.3 and 27.8 MiB on 26.1.5, 28.5.2 and 29.8.1, where 1.4.13 (20.10.5) looped to 318 MiB and 1.6.20 " +
		"(20.10.24) to 423 MiB (run matrix-20261201); releases between 20.10.24 and 26.1.5 are not measured"}}
}

// Incident is dockerd-restore-hang as data.
func Incident() incident.Incident {
	return incident.Incident{
		ID:      "dockerd-restore-hang",
		Title:   "dockerd hangs on restart after a power loss: damaged containerd metadata or a held network store",
		Runtime: runtime.Dockerd,
		Summary: "After a power loss dockerd did not come back and did not die: its API never answered, so the " +
			"node sat NotReady instead of being restarted. Its containerd looped over a torn meta.db (and grew), " +
			"or another process held local-kv.db's lock; a panicking containerd at least made dockerd give up.",
		Source: "https://github.com/moby/moby/issues/48052 (20.10: dockerd cannot reach its containerd after a power outage), https://github.com/containerd/containerd/issues/3347 (containerd panics on a meta.db torn by a restart), https://github.com/moby/moby/issues/46689 (dockerd waits in flock(LOCK_EX) on local-kv.db and never starts)",
		Affected: "dockerd 20.10 with its managed containerd 1.4 or 1.6 (measured: Debian 20.10.5 / 1.4.13, 20.10.24 / 1.6.20); " +
			"from 26.1.5 on its containerd panics on the cycled meta.db instead of looping; a held local-kv.db lock " +
			"also hangs 26.1.5, while 28.5.2 exits 1 at once",
		Fixed:     "none: restore meta.db / free local-kv.db; a startup watchdog (this budget) turns the hang into a restart",
		Images:    []incident.Image{pauseImage},
		NotJudged: "a damaged or locked store on disk, not something a runtime setting or version fixes",
		Variants: []incident.Variant{
			{
				Name:   "meta-cycle",
				Expect: curve.Breach,
				Why:    "a cycle in a container's bucket of meta.db: containerd's readContainer walks it forever and grows, dockerd's restore waits on it and never answers",
				// No slope budget on containerd_rss_bytes: while dockerd's
				// socket accepts but does not serve, the engine's pprof
				// goroutine probe holds each sample for up to 5 s, too few
				// points for a fit, and the early stop waits for every slope
				// to have one. The watchdog's 50 ms peak stands in for it.
				Budgets: []curve.Budget{
					{Metric: "containerd_rss_peak_bytes", Kind: curve.Ceiling, Max: 256 << 20,
						Why: "containerd restarts at 40-45 MiB; looping over the cycle it grows 20-120 MB/s and passes 256 MiB within 5-15 s (watchdog, 50 ms reads)"},
					waitBudget(),
				},
				Affected: metaCycleAffected(),
				Sandbox:  sandbox(),
				Timeout:  timeout,
				Labels:   []string{"slow"},
				Case: powerloss.Case{
					Spec:            population(),
					Image:           pauseImage,
					Damage:          crash.BoltOnContainer(boltcorrupt.CycleLoop()),
					WatchContainerd: true,
					BootFor:         60 * time.Second,
					Tail:            tail,
					LiveWhen:        powerloss.ContainerdAbove(256 << 20),
				},
			},
			{
				Name:    "zeroed-v1",
				Expect:  curve.Hold,
				Why:     "a zeroed v1 leaf panics containerd at start; dockerd gives up on it after its 15 s timeout and exits 1: a loud, bounded failure",
				Budgets: []curve.Budget{waitBudget(), startupRSSBudget()},
				Sandbox: sandbox(),
				Timeout: timeout,
				Case: powerloss.Case{
					Spec:            population(),
					Image:           pauseImage,
					Damage:          crash.Bolt(boltcorrupt.ZeroPage().WithBucket("v1").WithPrefix(""), crash.MetaDB),
					WatchContainerd: true,
					BootFor:         60 * time.Second,
					Tail:            tail,
				},
			},
			{
				Name:   "lock-held",
				Expect: curve.Breach,
				Why:    "another process holds local-kv.db's flock: dockerd waits in bbolt's open with flat memory and no API for 60 s before it fails",
				Affected: incident.Ranges{{Before: "28.5.2", Note: "finding: with the lock held, dockerd 28.5.2 gives up at once (exit 1 after 1.4 s, " +
					"wait 1.48 s, 66.7 MiB) where 20.10.24 and 26.1.5 stay silent past the 30 s budget (32.6 s, 32.1 s; run track-lock-held, " +
					"2026-11-30); releases between 26.1.5 and 28.5.2 are not measured"}},
				Budgets: []curve.Budget{
					waitBudget(),
					{Metric: "dockerd_rss_peak_bytes", Kind: curve.Ceiling, Max: 256 << 20,
						Why: "the hang is not a leak: dockerd waits at its usual ~70 MiB"},
				},
				Sandbox: sandbox(),
				Timeout: timeout,
				Labels:  []string{"slow"},
				Case: powerloss.Case{
					Spec:      population(),
					Image:     pauseImage,
					AfterLoss: holdLocalKVLock,
					// dockerd gives up on the lock after ~61 s: the restart
					// must outlast it to show how the hang ends.
					BootFor: 90 * time.Second,
					Tail:    tail,
				},
			},
		},
	}
}
