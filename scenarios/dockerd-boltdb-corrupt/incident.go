// Package dockerdboltdbcorrupt reproduces dockerd looping over a torn
// libnetwork store after a power loss: its start walks a damaged
// network/files/local-kv.db forever and grows until the OOM killer, again
// on every restart.
//
// After a power loss dockerd's libnetwork store is damaged, and dockerd
// 20.10's start walks it in NewDaemon -> restore -> initNetworkController
// -> libnetwork.New -> reservePools -> getEndpointsFromStore -> libkv List
// -> bbolt Cursor.Next. A B-tree cycle makes that walk endless and dockerd
// grows hundreds of MB/s until the OOM killer; most other damage makes it
// panic or refuse within a second or two; a meta page aimed at the wrong
// tree makes it start with the user's networks silently gone.
//
// Every variant: a dockerd in a private network namespace (its bridges stay
// off the host) with population's networks and containers, SIGKILLed with
// its containerd (the power loss), its local-kv.db damaged, and started
// again while the watchdog and sampler watch.
//
// Measured on Debian's dockerd 20.10.24 with population on 2 cores (suite
// runs; the reasons are each variant's Why): an undamaged restart is ready
// in 0.5-0.6 s at ~80 MiB; cycle-loop grows 1.2-1.4 GB/s from ~1 s into
// the start until the 2 GiB guard kills it at ~2.2 s (350-700 MB/s with 4
// networks of 6 containers: the rate depends on the looping leaf);
// zero-page loops the same way at 300-440 MB/s (guard at 5-7 s); truncate,
// leaf-count, bad-freelist and self-cycle panic (exit 2), meta-checksums
// refuses (exit 1) and flip-bytes does either, 0.4-1.5 s into the restart
// and under 80 MiB; meta-wrong-root is ready in ~0.5 s with none of the 3
// user networks. The SIGUSR1 dump, handler installed early in NewDaemon,
// is written to the exec-root.
package dockerdboltdbcorrupt

import (
	"fmt"
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

// memoryLimit is the guard's ceiling: the loop reaches it in seconds, long
// before the machine (24 GiB) is at risk, and far above the 512 MiB budget
// so the verdict never depends on the guard.
const memoryLimit = 2 << 30

// Every variant's restart: given up on after bootFor, sampled for tail
// after it ended, in a sandbox whose guard is at memoryLimit.
const (
	bootFor = 60 * time.Second
	tail    = time.Second
	timeout = 2 * time.Minute
)

// liveAbove: a loop is caught live: the guard kills it within 1-6 s, and at
// 1.2 GB/s its growth rate is known too late (a process' first second is
// left out of it), its size at once.
const liveAbove = 256 << 20

// population gives local-kv.db a multi-page libnetwork bucket (a cycle
// needs a branch page: 3 networks of 4 running containers make 50 keys on
// 1 branch and 12 leaf pages) in ~4 s of setup. Stopped containers add
// restore work but no endpoints (a clean stop deletes its endpoint).
func population() crash.Spec {
	return crash.Spec{Networks: 3, RunningPerNetwork: 4, Stopped: 2}
}

// sandbox: the guard's 2 GiB. The dockerd the engine starts in the host's
// namespace is restarted in a private one before anything network-related
// happens.
func sandbox() incident.Sandbox {
	return incident.Sandbox{MemoryLimit: memoryLimit}
}

// Budgets shared by the variants. Functions, not package variables, so no
// run can alter another's.
func startupRSSBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_rss_peak_bytes", Kind: curve.Ceiling, Max: 512 << 20,
		Why: "an undamaged restart of this population peaks at ~80 MiB on 20.10.24; the B-tree loops pass 512 MiB within 0.5-1.5 s"}
}

func startupRateBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_rss_rate_peak_bytes_per_s", Kind: curve.Ceiling, Max: 64 << 20,
		Why: "after its first second an undamaged dockerd grows a few MiB/s at most; the loops grow 300-1400 MB/s (watchdog, 50 ms reads)"}
}

func startupWaitBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_api_wait_s", Kind: curve.Ceiling, Max: 30,
		Why: "ready or failed within 30 s: an undamaged restart answers within 1 s (4 s with 24 orphaned containers to stop)"}
}

func networksLostBudget() curve.Budget {
	return curve.Budget{Metric: "dockerd_networks_lost", Kind: curve.Ceiling, Max: 0,
		Why: "a dockerd that comes up must still have every user network it had at the power loss"}
}

// Incident is dockerd-boltdb-corrupt as data: one variant per corruption
// in boltcorrupt's Registry, then the workaround.
func Incident() incident.Incident {
	variants := append(corruptionVariants(boltcorrupt.Registry(), expectations()), recovered())
	return incident.Incident{
		ID:      "dockerd-boltdb-corrupt",
		Title:   "dockerd loops over a corrupt libnetwork store (local-kv.db) after a power loss and eats the node's memory",
		Runtime: runtime.Dockerd,
		Summary: "After a power loss, dockerd never came back: on start it grew by hundreds of MB per second " +
			"until the OOM killer took it, again on every restart. Its network/files/local-kv.db had been torn " +
			"mid-write; the B-tree walk in libnetwork's reservePools -> getEndpointsFromStore -> bbolt " +
			"Cursor.Next never ended. Removing local-kv.db (losing the user-defined networks) brought it back.",
		Source: "https://github.com/moby/moby/issues/43072 (20.10: stuck activating with unlimited memory growth after an abnormal power failure; deleting local-kv.db recovers)",
		Affected: "dockerd with a damaged local-kv.db (measured: Debian 20.10.24); bbolt without page sanity checks: " +
			"a zeroed leaf loops only before 26.1.5 (26.1.5 and 28.5.2 panic on bbolt's page-id check)",
		Fixed:     "none in 20.10 (the issue was closed without a fix): remove or restore network/files/local-kv.db, losing the user-defined networks",
		Images:    []incident.Image{pauseImage},
		Variants:  variants,
		NotJudged: "a damaged store on disk, not something a runtime setting or version fixes",
	}
}

// corruptionVariants are the variants of corruptions, each judged by what
// it was measured to do. A corruption without a measurement is declared
// with no expected verdict and the reason as its Why: the catalog refuses
// it, naming the variant, so relapse does not start with a guessed verdict.
func corruptionVariants(corruptions []boltcorrupt.Corruption, measured map[string]expectation) []incident.Variant {
	variants := make([]incident.Variant, 0, len(corruptions))
	for _, c := range corruptions {
		exp, ok := measured[c.Name()]
		if !ok {
			variants = append(variants, incident.Variant{Name: c.Name(), Case: corruptionCase(c),
				Why: fmt.Sprintf("no measured expectation for corruption %q: measure it and add it to expectations", c.Name())})
			continue
		}
		variants = append(variants, corruptionVariant(c, exp))
	}
	return variants
}

// racesAlone is why a variant whose outcome races inside dockerd's start
// runs alone. Beside another variant on the reference machine's 2 cores,
// zero-page's restart died of "fatal error: fault" in 3 of 9 attempts
// (twice in a row once) and cycle-loop's of a new "page already freed"
// panic once, where one at a time it was 1 in 16 and 1 in 7.
const racesAlone = "its outcome races inside dockerd's start, and the odds its second attempt covers were measured one at a time (beside a neighbour the race went the other way far more often)"

// corruptionVariant is the variant of corruption c, measured to do exp.
func corruptionVariant(c boltcorrupt.Corruption, exp expectation) incident.Variant {
	alone := ""
	if exp.attempts > 1 {
		alone = racesAlone
	}
	return incident.Variant{
		Name:     c.Name(),
		Expect:   exp.verdict,
		Attempts: exp.attempts,
		Alone:    alone,
		Affected: exp.affected,
		Why:      exp.why + " (" + c.Description() + ")",
		// No slope budget on dockerd_rss_bytes: while dockerd's socket
		// accepts but does not serve, the engine's pprof goroutine probe
		// holds each sample for up to 5 s, so the sampler sees one or two
		// points of a 2-6 s loop. The watchdog's 50 ms peak and rate stand
		// in for it.
		Budgets: []curve.Budget{startupRSSBudget(), startupRateBudget(), startupWaitBudget(), networksLostBudget()},
		Sandbox: sandbox(),
		Timeout: timeout,
		Case:    corruptionCase(c),
	}
}

// corruptionCase is a power loss that leaves local-kv.db damaged by c.
func corruptionCase(c boltcorrupt.Corruption) powerloss.Case {
	return powerloss.Case{
		Spec:     population(),
		Image:    pauseImage,
		Damage:   crash.Bolt(c, crash.LocalKV),
		BootFor:  bootFor,
		Tail:     tail,
		LiveWhen: powerloss.DockerdAbove(liveAbove),
	}
}
