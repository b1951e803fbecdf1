package workload

// The private daemons this package's tests run against are relapse's own
// sandboxes (harness/runtime), rendered from relapse's templates: a workload
// is tested against exactly the daemons, configuration and teardown the
// incidents run with, and there is one launcher to keep right, not two.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// sandboxTimeout bounds a sandbox's Start and its Close.
const sandboxTimeout = time.Minute

// needRoot stops a daemon test where it cannot get its runtime: without root
// or without the binaries it skips on a developer's machine, but under CI=true
// it fails, since a CI job whose daemon tests all skip would report green
// having tested nothing.
func needRoot(t *testing.T, bins ...string) {
	t.Helper()
	var missing string
	if os.Geteuid() != 0 {
		missing = "root to run private daemons"
	} else {
		for _, b := range bins {
			if _, err := exec.LookPath(b); err != nil {
				missing = b + " on PATH (scripts/install-deps.sh installs it)"
				break
			}
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs %s: under CI=true a test that cannot get its runtime fails instead of skipping", missing)
	}
	t.Skipf("needs %s", missing)
}

// startSandbox starts sb and registers its Close, so the daemon, its shims,
// containers and mounts and its root are gone when the test ends. The Close
// is registered before Start because New already made the root.
func startSandbox(t *testing.T, sb runtime.Sandbox) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, sb.LogPath(), 40) // before Close removes it
		}
		ctx, cancel := context.WithTimeout(context.Background(), sandboxTimeout)
		defer cancel()
		if err := sb.Close(ctx); err != nil {
			t.Errorf("close %s sandbox: %v", sb.Kind(), err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), sandboxTimeout)
	defer cancel()
	if err := sb.Start(ctx); err != nil {
		logTail(t, sb.LogPath(), 40)
		t.Fatal(err)
	}
}

// logTail logs the last n lines of a daemon's log: the reason a daemon
// refused to start or misbehaved is usually there and nowhere else.
func logTail(t *testing.T, path string, n int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Logf("daemon log: %v", err)
		return
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	lines = lines[max(0, len(lines)-n):]
	t.Logf("%s (last %d lines):\n%s", path, len(lines), bytes.Join(lines, []byte("\n")))
}

// startContainerd starts a containerd sandbox whose CRI sandbox image is
// sandboxImage. ConfigFile is the template so that RELAPSE_CONTAINERD_CONFIG,
// which is for judging a user's config, does not change what these tests
// check; RELAPSE_CONTAINERD still picks another binary.
func startContainerd(t *testing.T, sandboxImage string) *runtime.ContainerdSandbox {
	t.Helper()
	sb, err := runtime.NewContainerd(runtime.ContainerdOptions{
		ConfigFile: runtime.TemplateConfig,
		PauseImage: sandboxImage,
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	startSandbox(t, sb)
	return sb
}

// startDockerd starts a dockerd sandbox (with its own managed containerd)
// and returns it with a client. The sandbox's API socket is <root>/docker.sock,
// its own, so two of them in one test do not meet; its dockerd always runs
// with debug on, which logs every API call to LogPath.
func startDockerd(t *testing.T) (*runtime.DockerdSandbox, *client.Client) {
	t.Helper()
	// A host containerd on /run/containerd/containerd.sock is no obstacle:
	// the sandbox's namespace hides it, and Start fails unless dockerd runs
	// its own containerd.
	sb, err := runtime.NewDockerd(runtime.DockerdOptions{
		ConfigFile: runtime.TemplateConfig,
		Logf:       t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	startSandbox(t, sb)
	ctx, cancel := context.WithTimeout(context.Background(), sandboxTimeout)
	defer cancel()
	cli, err := sb.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return sb, cli
}

// cacheDir is relapse's persistent cache, where the suites keep built
// images, so tests do not rebuild them every run.
func cacheDir(t *testing.T) string {
	t.Helper()
	d, err := runtime.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// buildImage builds one image into the persistent cache.
func buildImage(t *testing.T, name string) Image {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	img, err := Build(context.Background(), root, cacheDir(t), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %s in %v (cached=%v)", name, img.Tar, time.Since(began).Round(time.Millisecond), img.Cached)
	return img
}
