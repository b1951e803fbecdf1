package bench_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/cpucost"
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// sandbox is what a real dockerd run samples: a private dockerd with its own
// containerd, one running container (the pause image) with its shim, and
// the container's memory cgroup standing for the pod cgroup.
type sandbox struct {
	sb        *runtime.DockerdSandbox
	cli       *client.Client
	container string
	// pid is the container's init on the host.
	pid int
	// shimPID finds the container's shim.
	shimPID func() int
	// meter charges the caller and the three daemons a sample reaches.
	meter *cpucost.Meter
}

// startSandbox starts the sandbox as the engine does and closes it when
// the benchmark ends.
func startSandbox(b *testing.B) *sandbox {
	b.Helper()
	if os.Getuid() != 0 {
		b.Fatal("the sampler cost benchmark starts a private dockerd and must run as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repo, err := workload.FindRepoRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	cache, err := runtime.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	img, err := workload.Build(ctx, repo, cache, "pause")
	if err != nil {
		b.Fatal(err)
	}

	sb, err := runtime.NewDockerd(runtime.DockerdOptions{Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		if err := sb.Close(cctx); err != nil {
			b.Errorf("closing the sandbox: %v", err)
		}
	})
	if err := sb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	cli, err := sb.Client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	if err := workload.LoadDocker(ctx, cli, img); err != nil {
		b.Fatal(err)
	}
	id, pid, err := runPause(ctx, cli, img.Ref)
	if err != nil {
		b.Fatal(err)
	}

	s := &sandbox{sb: sb, cli: cli, container: id, pid: pid, shimPID: runtime.ShimPID(sb, id)}
	if s.shimPID() == 0 {
		b.Fatalf("no shim serves container %.12s under %s", id, sb.Root())
	}
	// The probes must find everything before any loop starts.
	if _, err := s.sources(b, nil); err != nil {
		b.Fatal(err)
	}
	s.meter, err = cpucost.NewMeter(
		cpucost.Target{Name: "dockerd", PID: sb.PID},
		cpucost.Target{Name: "containerd", PID: sb.ContainerdPID},
		cpucost.Target{Name: "shim", PID: s.shimPID},
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("dockerd %s (pid %d), its containerd pid %d, container %.12s (pid %d), shim pid %d",
		sb.Version(), sb.PID(), sb.ContainerdPID(), id, pid, s.shimPID())
	return s
}

// sources are the probes a run of a dockerd variant with these budgets
// samples: the engine's own set (dockerd and containerd processes,
// dockerd's goroutines) and those attempts add: a shim's process (as the
// ExecSync incident reads it) and the pod's memory cgroup (as the PHP
// dentry incident reads it). They are closed when tb ends.
func (s *sandbox) sources(tb testing.TB, budgets []curve.Budget) ([]probe.Source, error) {
	srcs, err := engine.SandboxSources(s.sb, budgets)
	if err != nil {
		return nil, err
	}
	shim, err := probe.NewProcess("shim", s.shimPID)
	if err != nil {
		return nil, err
	}
	pod, err := probe.CgroupMemory("pod", func() int { return s.pid })
	if err != nil {
		return nil, err
	}
	srcs = append(srcs, shim, pod)
	tb.Cleanup(func() { _ = probe.CloseSources(srcs) })
	if _, err := pod.Cgroup(); err != nil {
		return nil, fmt.Errorf("container pid %d: %w", s.pid, err)
	}
	return srcs, nil
}

// runPause runs the pause image with no network and returns the
// container's id and its init's host pid.
func runPause(ctx context.Context, cli *client.Client, image string) (string, int, error) {
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Image:      image,
		Config:     &container.Config{},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		return "", 0, fmt.Errorf("creating a %s container: %w", image, err)
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", 0, fmt.Errorf("starting container %.12s: %w", created.ID, err)
	}
	inspected, err := cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		return "", 0, fmt.Errorf("inspecting container %.12s: %w", created.ID, err)
	}
	if inspected.Container.State == nil || inspected.Container.State.Pid <= 0 {
		return "", 0, fmt.Errorf("container %.12s has no pid after start", created.ID)
	}
	return created.ID, inspected.Container.State.Pid, nil
}
