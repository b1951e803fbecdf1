package phptmpfiledentry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	mobycontainer "github.com/moby/moby/api/types/container"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/workload"
)

// name is the workload's container name in either runtime; on dockerd its
// cleanup addresses it by name, so it is removed even when its start was
// cancelled midway.
const name = "php-upload"

// maxLogBytes bounds the workload output kept for errors and diagnostics.
const maxLogBytes = 64 << 10

// runDocker runs the workload as a Docker container with host networking,
// a memory limit, pinned to cpus CPUs and, for the fix, a tmpfs /tmp.
func (u upload) runDocker(ctx context.Context, env *incident.Env, port int) (container, error) {
	pinned, err := workload.FirstCPUs(cpus)
	if err != nil {
		return container{}, err
	}
	cli, err := workload.DockerClient(ctx, env.Sandbox)
	if err != nil {
		return container{}, err
	}
	env.Defer(func(context.Context) error { return cli.Close() })
	env.Defer(func(ctx context.Context) error { return workload.RemoveDocker(ctx, cli, name) })
	c, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host:        env.Sandbox.Address(),
		Image:       env.Images[uploadImage],
		Name:        name,
		Env:         map[string]string{"PORT": strconv.Itoa(port)},
		NetworkMode: "host",
		HostConfig: func(hc *mobycontainer.HostConfig) {
			hc.Resources.Memory = memoryLimit
			hc.Resources.CpusetCpus = pinned
			if u.tmpfs {
				hc.Tmpfs = map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777,size=64m"}
			}
		},
		Logf: env.Logf,
	})
	if err != nil {
		return container{}, fmt.Errorf("starting php-upload: %w", err)
	}
	logs := func(ctx context.Context) string {
		rc, err := c.Logs(ctx)
		if err != nil {
			return fmt.Sprintf("(container logs: %v)", err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(io.LimitReader(rc, maxLogBytes))
		return string(b)
	}
	return container{pid: c.PID, logs: logs}, nil
}

// runCRI runs the workload as a CRI pod (node network, no CNI), pinned to
// cpus CPUs. The CRI client has no memory limit or mounts yet, so neither
// the limit nor a tmpfs /tmp can be set there. A pod is removed once RunPod
// returns its id; a pod whose creation was cancelled midway goes with the
// sandbox.
func (u upload) runCRI(ctx context.Context, env *incident.Env, port int) (container, error) {
	if u.tmpfs {
		return container{}, errors.New("php-upload on containerd: a tmpfs /tmp needs mounts in workload.ContainerSpec, which it does not have yet")
	}
	pinned, err := workload.FirstCPUs(cpus)
	if err != nil {
		return container{}, err
	}
	cri, err := workload.DialCRI(ctx, env.Sandbox.Address())
	if err != nil {
		return container{}, err
	}
	env.Defer(func(context.Context) error { return cri.Close() })
	logDir := filepath.Join(env.Sandbox.Root(), "pod-logs")
	pod, err := cri.RunPod(ctx, name, logDir)
	if err != nil {
		return container{}, err
	}
	env.Defer(func(ctx context.Context) error { return cri.RemovePod(ctx, pod) })
	id, err := cri.RunContainer(ctx, pod, workload.ContainerSpec{
		Name:       name,
		Image:      env.Images[uploadImage],
		Env:        map[string]string{"PORT": strconv.Itoa(port)},
		CpusetCpus: pinned,
	})
	if err != nil {
		return container{}, err
	}
	logPath := filepath.Join(logDir, name+".log")
	logs := func(context.Context) string {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return fmt.Sprintf("(container log: %v)", err)
		}
		return string(b)
	}
	pid, err := cri.ContainerPID(ctx, id)
	if err != nil {
		return container{}, fmt.Errorf("%w; log:\n%s", err, logs(ctx))
	}
	return container{pid: pid, logs: logs}, nil
}
