package workload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// imageEvents lists the daemon's image events (pull, load, tag, ...) since t0.
func imageEvents(t *testing.T, cli *client.Client, t0 time.Time) []events.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := cli.Events(ctx, client.EventsListOptions{
		Since:   strconv.FormatInt(t0.Unix()-1, 10),
		Until:   strconv.FormatInt(time.Now().Unix()+1, 10),
		Filters: make(client.Filters).Add("type", "image"),
	})
	var out []events.Message
	for {
		select {
		case m := <-res.Messages:
			out = append(out, m)
		case err := <-res.Err:
			if err != nil && !errors.Is(err, context.Canceled) && err.Error() != "EOF" {
				t.Logf("events: %v", err)
			}
			return out
		}
	}
}

func pulls(ms []events.Message) []string {
	var out []string
	for _, m := range ms {
		if m.Action == "pull" {
			out = append(out, m.Actor.ID)
		}
	}
	return out
}

// apiCalls counts dockerd's debug log lines for API calls whose path
// contains path. The sandbox's dockerd always runs with debug on, so every
// call it served is in LogPath.
func apiCalls(t *testing.T, d *runtime.DockerdSandbox, path string) int {
	t.Helper()
	log, err := os.ReadFile(d.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "Calling ") && strings.Contains(l, path) {
			n++
		}
	}
	return n
}

// checkPause asserts pid is a running /pause.
func checkPause(t *testing.T, pid int) {
	t.Helper()
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || string(cmdline) != "/pause\x00" {
		t.Fatalf("pid %d cmdline %q (%v), want /pause", pid, cmdline, err)
	}
}

func TestRunDocker(t *testing.T) {
	needRoot(t, "dockerd", "containerd", "runc")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pause := buildImage(t, "pause")
	a, cliA := startDockerd(t)
	// testcontainers reads these once per process, at its first use.
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	t.Setenv("DOCKER_HOST", "unix://"+a.Address())
	if err := LoadDocker(ctx, cliA, pause); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	c, err := RunDocker(ctx, DockerRequest{Host: a.Address(), Image: pause.Ref, Name: "sleeper", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RunDocker pause: %v, pid %d", time.Since(t0).Round(time.Millisecond), c.PID)
	checkPause(t, c.PID)
	info, err := cliA.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Container.Name != "/sleeper" || info.Container.HostConfig.NetworkMode != "none" {
		t.Errorf("container %s network %s, want /sleeper on none", info.Container.Name, info.Container.HostConfig.NetworkMode)
	}

	// A missing image is refused before testcontainers could try a pull.
	_, err = RunDocker(ctx, DockerRequest{Host: a.Address(), Image: ImageRef("not-loaded")})
	if err == nil || !strings.Contains(err.Error(), "LoadDocker") {
		t.Errorf("RunDocker with an image not loaded: %v, want a hint to LoadDocker", err)
	}
	if p := pulls(imageEvents(t, cliA, t0)); len(p) > 0 {
		t.Errorf("dockerd saw pulls %v: RunDocker must never pull", p)
	}
	// A pull that fails (no registry) leaves no event; dockerd's debug log
	// of API calls is the witness that none was attempted...
	if n := apiCalls(t, a, "/images/create"); n != 0 {
		t.Errorf("dockerd got %d pull requests (POST /images/create): RunDocker must never pull", n)
	}
	// ...and it does record one when it happens.
	if rc, err := cliA.ImagePull(ctx, ImageRef("not-loaded"), client.ImagePullOptions{}); err == nil {
		rc.Close()
	}
	if n := apiCalls(t, a, "/images/create"); n != 1 {
		t.Errorf("a deliberate pull left %d POST /images/create in the log, want 1: the no-pull witness is blind", n)
	}

	// Terminate stops and removes it; the process is gone.
	if err := c.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cliA.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect after Terminate: %v, want not found", err)
	}
	if err := syscall.Kill(c.PID, 0); err == nil {
		t.Errorf("pause pid %d alive after Terminate", c.PID)
	}

	// A second dockerd at another socket: testcontainers stays on the host
	// it resolved first (a), RunDocker still lands on b.
	b, cliB := startDockerd(t)
	if err := LoadDocker(ctx, cliB, pause); err != nil {
		t.Fatal(err)
	}
	cb, err := RunDocker(ctx, DockerRequest{Host: "unix://" + b.Address(), Image: pause.Ref, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Terminate(context.Background())
	checkPause(t, cb.PID)
	if _, err := cliB.ContainerInspect(ctx, cb.ID, client.ContainerInspectOptions{}); err != nil {
		t.Errorf("container %s not on the second dockerd: %v", cb.ID, err)
	}
	if _, err := cliA.ContainerInspect(ctx, cb.ID, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("container %s found on the first dockerd: %v", cb.ID, err)
	}
	if err := cb.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
}
