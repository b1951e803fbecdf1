package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestDockerdLifecycle runs a real dockerd: Start until /_ping and /info
// answer, then Close leaving no process, mount or file behind.
func TestDockerdLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	s, err := NewDockerd(DockerdOptions{
		Config: DockerdConfig{Overlay: map[string]any{"log-opts": map[string]any{"max-size": "10m"}}},
		Logf:   testLogf(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, s)
	root := s.Root()
	// The overlay's keys are reported with their effective values.
	if got := s.Settings()["log-opts"]; !reflect.DeepEqual(got, map[string]any{"max-size": "10m"}) {
		t.Errorf("Settings() log-opts = %v, want the overlay's", got)
	}

	began := time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("dockerd %s time-to-ready: %s", s.Version(), time.Since(began).Round(time.Millisecond))

	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatalf("/info: %v", err)
	}
	if !strings.HasPrefix(info.Info.ServerVersion, s.Version()) {
		t.Errorf("/info ServerVersion = %q, want %s", info.Info.ServerVersion, s.Version())
	}
	if info.Info.DockerRootDir != filepath.Join(root, "data") {
		t.Errorf("/info DockerRootDir = %q, want below %s", info.Info.DockerRootDir, root)
	}
	if !info.Info.Debug {
		t.Error("/info Debug = false, want true (pprof)")
	}
	getUnix(t, s.Address(), "/debug/pprof/goroutine?debug=1")
	if s.ContainerdPID() == 0 {
		t.Error("ContainerdPID() = 0 while dockerd runs")
	}
	if _, err := os.Stat(filepath.Join(root, "key.json")); majorVersion(s.Version()) < 23 && err != nil {
		t.Errorf("trust key not below the root (it would go to /etc/docker/key.json): %v", err)
	}
	if _, err := os.Stat(s.ContainerdAddress()); err != nil {
		t.Errorf("managed containerd socket: %v", err)
	}

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, root)
}

// TestDockerdCloseAfterCrashKillsContainers starts a container, crashes
// dockerd (its containerd, shim, container and mounts stay behind, as after
// a real crash) and checks that Close still removes all of it, including the
// socket the sandbox was given outside its root.
func TestDockerdCloseAfterCrashKillsContainers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	host := filepath.Join(TempBase, fmt.Sprintf("test-%d.sock", os.Getpid()))
	s, err := NewDockerd(DockerdOptions{Host: host, Logf: testLogf(t)})
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, s)
	root := s.Root()
	if s.Address() != host {
		t.Fatalf("Address() = %s, want %s", s.Address(), host)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// No registry: import an empty rootfs and run the host's sleep from
	// read-only binds of the host's /usr and /lib.
	imported, err := c.ImageImport(ctx, client.ImageImportSource{Source: emptyRootfs(t), SourceName: "-"}, "relapse.local/empty:test", client.ImageImportOptions{})
	if err != nil {
		t.Fatalf("image import: %v", err)
	}
	_, _ = io.Copy(io.Discard, imported)
	imported.Close()
	created, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Image:  "relapse.local/empty:test",
		Config: &container.Config{Cmd: []string{"/usr/bin/sleep", "600"}},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Binds:       []string{"/usr:/usr:ro", "/lib:/lib:ro", "/lib64:/lib64:ro"},
		},
	})
	if err != nil {
		t.Fatalf("container create: %v", err)
	}
	if _, err := c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("container start: %v", err)
	}
	inspected, err := c.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	containerPid := inspected.Container.State.Pid
	if containerPid == 0 {
		t.Fatal("container has no pid")
	}
	containerdPid := s.ContainerdPID()
	t.Logf("container %.12s pid %d, managed containerd pid %d", created.ID, containerPid, containerdPid)

	if err := s.Crash(); err != nil {
		t.Fatal(err)
	}
	if _, err := procStartTime(containerPid); err != nil {
		t.Fatalf("container pid %d died with dockerd: the test would not exercise Close", containerPid)
	}
	mounts, err := mountsUnder(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the crash: %d mounts below the root, containerd alive: %v", len(mounts), alive(containerdPid))

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{containerPid, containerdPid} {
		if alive(pid) {
			t.Errorf("pid %d still alive after Close", pid)
		}
	}
	assertNothingLeft(t, root)
	if _, err := os.Lstat(host); !os.IsNotExist(err) {
		t.Errorf("socket %s still exists after Close (lstat: %v)", host, err)
	}
}

func alive(pid int) bool {
	_, err := procStartTime(pid)
	return pid > 0 && err == nil
}

// emptyRootfs is a tar of the directories a container needs to exist.
func emptyRootfs(t *testing.T) io.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, d := range []string{"bin", "dev", "etc", "lib", "lib64", "proc", "sys", "tmp", "usr"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}
