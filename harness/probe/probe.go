// Package probe reads the metrics relapse budgets: a process' RSS, fds,
// threads and state from procfs, a Go daemon's goroutines, cgroup memory and
// the kernel's dentry counters. A Sampler records them at a fixed interval,
// each sample tagged with the stimulus' op count.
package probe

import (
	"context"
	"errors"
	"io"
)

// Desc describes one metric a Source produces.
type Desc struct {
	// Name is the metric's key everywhere (series, budgets, reports),
	// e.g. "containerd_rss_bytes".
	Name string
	// Unit is what the value counts, e.g. "bytes", "goroutines", "fds".
	Unit string
}

// Source reads one or more metrics in one go, so a single /proc read serves
// several series.
type Source interface {
	// Describe lists the metrics Collect returns.
	Describe() []Desc
	// Collect reads the current values. A metric missing from the map was not
	// available this time (e.g. the daemon is restarting); an error is logged
	// by the sampler and does not stop it.
	Collect(ctx context.Context) (map[string]float64, error)
}

// CloseSources releases what the sources hold between samples (the
// procfs and cgroupfs files Process and CgroupMemorySource keep open): for
// whoever made the sources, once nothing reads them any more. A source that
// holds nothing is skipped; one read again after it was closed opens its
// files again.
func CloseSources(sources []Source) error {
	var errs []error
	for _, s := range sources {
		if c, ok := s.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
