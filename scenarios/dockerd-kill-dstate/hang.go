package dockerdkilldstate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/fault/fusehang"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// hang makes the hung FUSE mount the reader container binds. It returns the
// bind spec and the release that answers the held reads, so the reader can
// die; everything else it made is undone by cleanups it registers.
type hang interface {
	mount(ctx context.Context, env *incident.Env, cli *client.Client) (bind string, release func(context.Context) error, err error)
}

// hostHang serves the hung file from the harness process itself.
type hostHang struct{}

func (hostHang) mount(ctx context.Context, env *incident.Env, _ *client.Client) (string, func(context.Context) error, error) {
	h, err := fusehang.Mount(ctx, filepath.Join(env.Sandbox.Root(), "hang"), fusehang.Options{Logf: env.Logf})
	if err != nil {
		return "", nil, fmt.Errorf("hanging a FUSE mount on the host: %w", err)
	}
	env.Defer(h.Close)
	return h.Dir() + ":/mnt/hang:ro", func(context.Context) error { h.Release(); return nil }, nil
}

// sidecarHang serves it from a sidecar container that shares the mount
// through an rshared host dir: the shape of a hung CSI or FUSE volume.
type sidecarHang struct{}

// sidecarName is the FUSE server's container; cleanups and the release
// address it by name, so neither depends on its start having returned.
const sidecarName = "fusehang-sidecar"

// sidecarMountWithin bounds the wait for the sidecar's FUSE mount.
const sidecarMountWithin = 15 * time.Second

func (sidecarHang) mount(ctx context.Context, env *incident.Env, cli *client.Client) (string, func(context.Context) error, error) {
	shared, err := fusehang.MakeShared(ctx, filepath.Join(env.Sandbox.Root(), "csi"))
	if err != nil {
		return "", nil, fmt.Errorf("making the sidecar's shared mount: %w", err)
	}
	env.Defer(shared.Close)
	if err := runtime.ShareInside(ctx, env.Sandbox, shared.Dir()); err != nil {
		return "", nil, fmt.Errorf("making the sidecar's shared mount: %w", err)
	}
	env.Defer(func(ctx context.Context) error { return workload.RemoveDocker(ctx, cli, sidecarName) })
	if _, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: env.Sandbox.Address(), Image: env.Images[fusehangImage], Name: sidecarName,
		Cmd: []string{"-dir", "/mnt/hang"},
		HostConfig: func(hc *container.HostConfig) {
			hc.Binds = []string{shared.Dir() + ":/mnt/hang:rshared"}
			hc.CapAdd = []string{"SYS_ADMIN"}
			hc.Resources.Devices = []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}}
		},
		Logf: env.Logf,
	}); err != nil {
		return "", nil, fmt.Errorf("starting the fusehang sidecar: %w", err)
	}
	// The sidecar mounts inside dockerd's namespace: look there.
	mountinfo := runtime.MountInfoPath(env.Sandbox)
	if err := wait.Until(ctx, "the sidecar's FUSE mount on "+shared.Dir(), 50*time.Millisecond, sidecarMountWithin,
		func() (bool, string) { return fuseMountedAt(mountinfo, shared.Dir()), "" }); err != nil {
		return "", nil, err
	}
	release := func(ctx context.Context) error {
		// SIGUSR1 makes the sidecar answer every held read.
		if _, err := cli.ContainerKill(ctx, sidecarName, client.ContainerKillOptions{Signal: "USR1"}); err != nil {
			return fmt.Errorf("releasing the sidecar's held reads: %w", err)
		}
		return nil
	}
	return shared.Dir() + ":/mnt/hang:rslave", release, nil
}

// fuseMountedAt reports a FUSE mount exactly at dir, from a mountinfo file
// (never a stat, which would hang on the mount itself).
func fuseMountedAt(mountinfo, dir string) bool {
	f, err := os.Open(mountinfo)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && fields[4] == dir && strings.Contains(sc.Text(), " - fuse") {
			return true
		}
	}
	return false
}
