// Package phptmpfiledentry reproduces a pod's memory creeping up while
// every process' RSS stays flat: PHP-FPM spools each large POST body to a
// temp file in /tmp and unlinks it, and every unlinked name on the overlay
// root leaves a negative dentry charged as kernel memory to the pod.
package phptmpfiledentry

import (
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// The php-upload workload and its load, from measurements: 100 KB bodies at
// 1000 req/s leave 1.0 negative dentry and ~200 B of kmem per request; 30k
// requests are ~30 s of load and ~6 MB of kmem, far below the container's
// limit, so reclaim at the limit (a sawtooth on this kernel) never blurs the
// slope.
const (
	largeBody   = 100 << 10
	smallBody   = 8 << 10 // below PHP's 16 KiB in-memory limit: no temp file
	rate        = 1000
	concurrency = 4 // php-fpm runs a static pool of 4 workers
	requests    = 30000
	// loadFor bounds the load so a variant's verdict comes within 90 s of
	// the load's start even on a slow machine (load + tail < 90 s).
	loadFor = 80 * time.Second
	tail    = 3 * time.Second
	// memoryLimit caps the container: a runaway workload hits its own
	// limit, never the machine.
	memoryLimit = 512 << 20
	readyWithin = 60 * time.Second
	// maxFailed is the share of failed requests beyond which the run
	// measured a broken workload, not the incident.
	maxFailed = 0.01
	// warmup requests (php-fpm and nginx warming up their buffers) are not
	// fitted.
	warmup = 2000
	// cpus is how many CPUs the workload is pinned to (the first ones this
	// process may use): the pod memory's resolution below depends on it,
	// and pinned it is the same on a 2-CPU runner and a 64-CPU node.
	cpus = 2
	// usageResolution is the smallest change of the pod's memory usage
	// (memory.current, memory.usage_in_bytes) that is growth and not
	// wander: the kernel charges a cgroup 64 pages at a time per CPU its
	// tasks run on and holds what is not used yet, and every request in
	// flight holds its body's temp file (4 workers x 100 KiB), 912 KiB in
	// all. Measured: a flat tmpfs-tmp run (kernel 6.1, cgroup v2, 28k
	// requests past the warm-up) wandered over 1004 KiB between its 1st
	// and 99th percentile. At 50 B/request that takes 18.7k requests to
	// resolve: the host's 28k do, and a slower machine's load runs on until
	// it has them (needed); with fewer the budget is inconclusive, never a
	// breach read from the wander.
	usageResolution = cpus*64*4096 + concurrency*largeBody
)

// Images the variants start.
const (
	uploadImage incident.Image = "php-upload"
	pauseImage  incident.Image = "pause"
)

// budgets, per request served. The leak is ~200 B/request (one negative
// dentry each); the flat cases measure ~1 B/request (0.3 with a tmpfs /tmp,
// 0.7 with 8 KB bodies). 50 B/request is far from both, so the verdict is
// clear-cut after a few thousand requests.
//
// A function, not a package variable, so no run can alter another's.
func budgets() []curve.Budget {
	return []curve.Budget{
		{Metric: kmemMetric, Kind: curve.Slope, Per: curve.PerOp, Max: 50, Warmup: warmup,
			Why: "negative dentries: ~200 B/request with /tmp in an image layer, ~1 B/request with tmpfs or bodies < 16 KiB"},
		{Metric: "pod_usage_bytes", Kind: curve.Slope, Per: curve.PerOp, Max: 50, Warmup: warmup, Resolution: usageResolution,
			Why: "pod memory as the kubelet sees it: climbs with kmem"},
		{Metric: "pod_rss_bytes", Kind: curve.Slope, Per: curve.PerOp, Max: 50, Warmup: warmup,
			Why: "holds in every variant: the growth is kernel memory, not the processes' RSS"},
	}
}

// Incident is php-tmpfile-dentry as data.
func Incident() incident.Incident {
	return incident.Incident{
		ID:      "php-tmpfile-dentry",
		Title:   "PHP-FPM upload temp files leave a negative dentry per request, charged to the pod's memory",
		Runtime: runtime.Dockerd,
		Summary: "Pods serving uploads crept towards their memory limit while every process' RSS stayed flat. " +
			"PHP-FPM spools each POST body above 16 KiB to a fresh temp file in /tmp and unlinks it after the " +
			"request; every unlinked name leaves a negative dentry, kernel memory charged to the container's " +
			"memory cgroup. With /tmp in an overlay image layer they accumulate (~200 B per request).",
		Source:    "a production report (PHP pods at 1.8 GB of memory with ~300 MB of RSS and cache: ~7.9 million dentries, ~1.4 GB, charged to the pod; dropping the dentry cache released it); kernel: negative dentries are charged to the memcg of the creating task (memcg kmem accounting)",
		Affected:  "any PHP-FPM (or other temp-file-per-request server) with /tmp on the container's overlay root, under cgroup kmem accounting",
		Fixed:     "mount a tmpfs on /tmp (emptyDir medium: Memory, --tmpfs /tmp), or keep bodies under upload spooling's 16 KiB",
		Images:    []incident.Image{uploadImage, pauseImage},
		NotJudged: "a kernel accounting effect fixed in the pod spec, not by a runtime setting or version",
		// The negative dentries are counted machine-wide: a neighbour's
		// image imports and container churn would add their own.
		Alone: "counts the machine's negative dentries (/proc/sys/fs/dentry-state) and drives PHP-FPM on every core",
		Variants: []incident.Variant{
			// In the guests too: the charge is the kernel's, and the seed
			// says its outcome depends on the kernel.
			variant("tmp-in-image", curve.Breach, "",
				"100 KB bodies spool to /tmp on overlay: one negative dentry, ~200 B of kmem, per request",
				upload{bodySize: largeBody}).In(incident.InGuest),
			variant("tmpfs-tmp", curve.Hold, "",
				"with a tmpfs on /tmp the deleted temp file's dentry is freed at once: kmem stays flat",
				upload{bodySize: largeBody, tmpfs: true}).In(incident.InGuest),
			variant("small-bodies", curve.Hold, "",
				"8 KB bodies stay in PHP's memory: no temp file, no dentry, kmem flat",
				upload{bodySize: smallBody}),
			// The same pod as a CRI pod on containerd: the charge is the
			// kernel's, so the runtime must not matter. (A CRI tmpfs /tmp
			// needs mounts in workload.ContainerSpec, not there yet.)
			variant("cri-tmp-in-image", curve.Breach, runtime.Containerd,
				"the same 100 KB uploads in a CRI pod on containerd: the same ~200 B of kmem per request",
				upload{bodySize: largeBody}),
			variant("cri-small-bodies", curve.Hold, runtime.Containerd,
				"8 KB bodies in a CRI pod on containerd: kmem flat",
				upload{bodySize: smallBody}),
		},
	}
}

// variant is one upload configuration on a runtime ("" is the incident's,
// dockerd).
func variant(name string, expect curve.Verdict, on runtime.Kind, why string, u upload) incident.Variant {
	return incident.Variant{
		Name: name, Expect: expect, Why: why,
		Sandbox: incident.Sandbox{Runtime: on},
		Budgets: budgets(),
		Timeout: 2 * time.Minute,
		Case:    u,
	}
}
