package containerdhugelogline

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/workload"
)

// writer is one pod whose container writes a newline-free stream at rate
// bytes/s until total, bounded so the machine is never at risk (512 MiB at
// 20 MiB/s is ~26 s of writing; the memory guard's 4 GiB is far above what
// an unlimited containerd can buffer of it). tail keeps sampling after the
// writer is done, to see whether memory comes back.
type writer struct {
	rate, total int
	tail        time.Duration
}

// Start runs the pod and its writer.
func (w writer) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cri, err := workload.DialCRI(ctx, env.Sandbox.Address())
	if err != nil {
		return nil, err
	}
	env.Defer(func(context.Context) error { return cri.Close() })

	logDir := filepath.Join(env.Sandbox.Root(), "pod-logs")
	pod, err := cri.RunPod(ctx, "hugeline", logDir)
	if err != nil {
		return nil, err
	}
	env.Defer(func(ctx context.Context) error { return cri.RemovePod(ctx, pod) })

	if _, err := cri.RunContainer(ctx, pod, workload.ContainerSpec{
		Name:    "hugeline",
		Image:   env.Images["hugeline"],
		Args:    []string{"-rate", fmt.Sprint(w.rate), "-total", fmt.Sprint(w.total)},
		LogPath: "hugeline.log",
	}); err != nil {
		return nil, err
	}
	env.Logf("hugeline writing %d MiB at %d MiB/s with no newline", w.total>>20, w.rate>>20)
	return &writing{writer: w, ops: env.Ops}, nil
}

// writing is one run of the writer.
type writing struct {
	writer
	ops *probe.Ops
}

// Probes: containerd's own process probe, which every containerd run has,
// is all this incident watches.
func (*writing) Probes() []probe.Source { return nil }

// Drive samples until the writer is done plus the tail. Each op is one
// second of writing, so per-op and per-second curves agree.
func (w *writing) Drive(ctx context.Context) error {
	writing := time.Duration(float64(w.total) / float64(w.rate) * float64(time.Second))
	deadline := time.Now().Add(writing + w.tail)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			w.ops.Add(1)
		}
	}
	return nil
}
