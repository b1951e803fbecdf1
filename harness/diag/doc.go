// Package diag captures what an engineer needs to explain a daemon that
// breached its budgets or hangs: goroutine dumps (pprof and SIGUSR1), a heap
// profile, the log's tail, a few seconds of strace, and the kernel stack,
// wait channel and state of every thread, for dockerd and the containerd it
// manages. Every piece is best effort: one that fails is written down in
// diag-errors.txt and the others are still taken.
//
// Watchdog is the matching probe for daemons that never come up: how long
// the current process has run without its API answering, whether it runs
// at all, and its peak memory, seen at a finer grain than the sampler.
package diag
