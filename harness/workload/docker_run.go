package workload

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// DockerRequest is one workload container on a sandbox dockerd.
type DockerRequest struct {
	// Host is the sandbox dockerd's socket ("/tmp/relapse/x/docker.sock" or
	// "unix://..."). Required: the container is made on this daemon whatever
	// DOCKER_HOST testcontainers resolved (see RunDocker).
	Host string
	// Image is a reference already loaded with LoadDocker. It is never pulled.
	Image string
	// Name is the container name; empty lets dockerd choose.
	Name string
	// Entrypoint replaces the image's entrypoint when set.
	Entrypoint []string
	// Cmd is the arguments after the entrypoint.
	Cmd []string
	// Env is extra environment.
	Env map[string]string
	// NetworkMode is "none" when empty (relapse's dockerds run with
	// --bridge=none), or "host", "container:<id>" or an existing network.
	NetworkMode string
	// HostConfig adjusts the host config after relapse's defaults (mounts,
	// devices, capabilities, tmpfs, log options).
	HostConfig func(*container.HostConfig)
	// Logf receives testcontainers' narration; nil drops it.
	Logf func(format string, args ...any)
}

// DockerContainer is a running workload container.
type DockerContainer struct {
	// Container is testcontainers' handle: Terminate, Stop, Exec, Logs, ...
	testcontainers.Container
	// ID is the container ID.
	ID string
	// PID is the host PID of its init process (State.Pid), for probes.
	PID int
}

// RunDocker creates and starts a container on req.Host through
// testcontainers-go and returns it with its host PID.
//
// Two testcontainers behaviours shape this. It resolves its Docker host once
// per process (DOCKER_HOST, before first use; a failed first resolution is
// cached too), so DOCKER_HOST must name a reachable dockerd when RunDocker is
// first called; RunDocker then swaps the provider's client for one on
// req.Host (DockerProvider.SetClient), so later sandboxes may live at other
// sockets. And it pulls an image it cannot inspect, which without a registry
// fails slowly after retries, so RunDocker checks the image is loaded first
// and never asks for a pull. The reaper (ryuk) needs a registry image too:
// TESTCONTAINERS_RYUK_DISABLED=true is required.
func RunDocker(ctx context.Context, req DockerRequest) (*DockerContainer, error) {
	if req.Host == "" || req.Image == "" {
		return nil, fmt.Errorf("run docker container: host %q and image %q are both required", req.Host, req.Image)
	}
	host := req.Host
	if !strings.Contains(host, "://") {
		host = "unix://" + host
	}
	if !testcontainers.ReadConfig().RyukDisabled {
		return nil, fmt.Errorf("run %s on %s: testcontainers' reaper is enabled and its image cannot be pulled here: set TESTCONTAINERS_RYUK_DISABLED=true before the first testcontainers call", req.Image, host)
	}
	cli, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, fmt.Errorf("run %s on %s: %w", req.Image, host, err)
	}
	if _, err := cli.ImageInspect(ctx, req.Image); err != nil {
		cli.Close()
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("run %s on %s: image not loaded (LoadDocker it first; there is no registry to pull from)", req.Image, host)
		}
		return nil, fmt.Errorf("run %s on %s: %w", req.Image, host, err)
	}
	mode := container.NetworkMode(req.NetworkMode)
	if mode == "" {
		mode = "none"
	}
	// testcontainers attaches a container to a "default network" and creates
	// a bridge network when that is missing: name an existing one instead.
	defaultNet := "none"
	if !mode.IsContainer() {
		if _, err := cli.NetworkInspect(ctx, string(mode), client.NetworkInspectOptions{}); err != nil {
			cli.Close()
			return nil, fmt.Errorf("run %s on %s: network mode %q: %w", req.Image, host, mode, err)
		}
		defaultNet = string(mode)
	}

	provider, err := testcontainers.NewDockerProvider(
		testcontainers.WithLogger(logfLogger(req.Logf)),
		testcontainers.WithDefaultBridgeNetwork(defaultNet),
	)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("run %s on %s: testcontainers provider (DOCKER_HOST must name a reachable dockerd at the first call in a process): %w", req.Image, host, err)
	}
	_ = provider.Close() // its own client, on the process-wide host
	provider.SetClient(cli)

	c, err := provider.RunContainer(ctx, testcontainers.ContainerRequest{
		Image:           req.Image,
		Name:            req.Name,
		Entrypoint:      req.Entrypoint,
		Cmd:             req.Cmd,
		Env:             req.Env,
		AlwaysPullImage: false,
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.NetworkMode = mode
			if req.HostConfig != nil {
				req.HostConfig(hc)
			}
		},
	})
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("run %s on %s: %w", req.Image, host, err)
	}
	dc := &DockerContainer{Container: c, ID: c.GetContainerID()}
	state, err := c.State(ctx)
	if err == nil && (!state.Running || state.Pid <= 0) {
		err = fmt.Errorf("not running after start: status %s, exit code %d, error %q", state.Status, state.ExitCode, state.Error)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("run %s on %s: %w", req.Image, host, err), c.Terminate(context.WithoutCancel(ctx)))
	}
	dc.PID = state.Pid
	return dc, nil
}

// logfLogger adapts a Logf to testcontainers' logger.
type logfLogger func(format string, args ...any)

func (l logfLogger) Printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}
