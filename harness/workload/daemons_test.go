package workload

// Throwaway private daemons for this package's tests. The real sandboxes live
// in harness/runtime; these exist so workload is tested against real
// containerd and dockerd without depending on that package. Everything lives
// under /tmp/relapse/wl-<hex> and is killed and unmounted at cleanup.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// needRoot skips a daemon test where it cannot run; on this project's
// machines and CI it always runs.
func needRoot(t *testing.T, bins ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run private daemons")
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs %s on PATH (scripts/install-deps.sh installs it)", b)
		}
	}
}

// testRoot makes a private root and registers its teardown: kill every
// process whose command line names the root (daemons, shims) and their
// children (containers), unmount everything below it, remove it.
func testRoot(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("/tmp/relapse", "wl-"+hex.EncodeToString(b[:]))
	if err := os.MkdirAll(root, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range pidsNaming(root) {
			killTree(pid)
		}
		unmountBelow(t, root)
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("remove %s: %v", root, err)
		}
	})
	return root
}

// pidsNaming lists processes whose command line contains s.
func pidsNaming(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// children lists pid's direct children.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// killTree SIGKILLs pid's descendants and then pid.
func killTree(pid int) {
	for _, c := range children(pid) {
		killTree(c)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// unmountBelow detaches every mount at or below root, deepest first.
func unmountBelow(t *testing.T, root string) {
	t.Helper()
	for range 5 {
		mounts := mountsBelow(root)
		if len(mounts) == 0 {
			return
		}
		for _, m := range mounts {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				t.Logf("unmount %s: %v", m, err)
			}
		}
	}
	if m := mountsBelow(root); len(m) > 0 {
		t.Errorf("still mounted below %s: %v", root, m)
	}
}

func mountsBelow(root string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == root || strings.HasPrefix(fields[4], root+"/")) {
			out = append(out, fields[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// daemon is a started daemon process with its log.
type daemon struct {
	root, address, log string
	cmd                *exec.Cmd
	done               chan error
}

// start runs a daemon and registers a graceful stop (SIGTERM, 20 s, SIGKILL)
// that runs before testRoot's teardown.
func start(t *testing.T, root, address string, name string, args ...string) *daemon {
	t.Helper()
	d := &daemon{root: root, address: address, log: filepath.Join(root, filepath.Base(name)+".log"), done: make(chan error, 1)}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(name, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { d.done <- d.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop in 20s after SIGTERM; killing it", name)
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			tail, _ := exec.Command("tail", "-n", "40", d.log).Output()
			t.Logf("%s log tail:\n%s", name, tail)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("unix", address)
		if err == nil {
			c.Close()
			return d
		}
		select {
		case err := <-d.done:
			tail, _ := exec.Command("tail", "-n", "40", d.log).Output()
			t.Fatalf("%s exited before listening on %s: %v\n%s", name, address, err, tail)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after 30s", name, address)
		}
	}
}

const containerdConfig = `version = 2
root = "{{ROOT}}/root"
state = "{{ROOT}}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{{ROOT}}/c.sock"
[ttrpc]
  address = "{{ROOT}}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{{ROOT}}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{SANDBOX}}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{{ROOT}}/cni/bin"
    conf_dir = "{{ROOT}}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{{ROOT}}/state/runc"
`

// startContainerd runs a private containerd with CRI whose sandbox image is
// sandboxImage.
func startContainerd(t *testing.T, sandboxImage string) *daemon {
	t.Helper()
	root := testRoot(t)
	for _, d := range []string{"cni/bin", "cni/conf"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strings.NewReplacer("{{ROOT}}", root, "{{SANDBOX}}", sandboxImage).Replace(containerdConfig)
	cfgPath := filepath.Join(root, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := "containerd"
	if b := os.Getenv("RELAPSE_CONTAINERD"); b != "" {
		bin = b // another version, e.g. for the archive's compatibility
	}
	d := start(t, root, filepath.Join(root, "c.sock"), bin, "--config", cfgPath)
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		t.Logf("containerd: %s", strings.TrimSpace(string(out)))
	}
	return d
}

// startDockerd runs a private dockerd (with its own managed containerd) and
// returns it with a client.
func startDockerd(t *testing.T) (*daemon, *client.Client) {
	t.Helper()
	if _, err := os.Stat("/run/containerd/containerd.sock"); err == nil {
		t.Fatal("/run/containerd/containerd.sock exists: dockerd 20.10 would use that system containerd instead of its own")
	}
	root := testRoot(t)
	cfg := fmt.Sprintf(`{"deprecated-key-path": %q}`, filepath.Join(root, "key.json"))
	cfgPath := filepath.Join(root, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(root, "docker.sock")
	d := start(t, root, sock, "dockerd",
		"--config-file", cfgPath,
		"--data-root", filepath.Join(root, "data"),
		"--exec-root", filepath.Join(root, "exec"),
		"-H", "unix://"+sock,
		"--pidfile", filepath.Join(root, "docker.pid"),
		"--bridge=none", "--iptables=false", "--ip-masq=false",
		"--log-level=debug") // debug logs every API call: the witness for "no pull"
	cli, err := client.New(client.WithHost("unix://" + sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := cli.Ping(ctx, client.PingOptions{}); err == nil {
			return d, cli
		} else if ctx.Err() != nil {
			t.Fatalf("dockerd at %s: %v", sock, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cacheDir is the persistent image cache the suites use, so tests do not
// rebuild images every run.
func cacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("RELAPSE_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "relapse")
}

// buildImage builds one image into the persistent cache.
func buildImage(t *testing.T, name string) Image {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	img, err := Build(context.Background(), root, cacheDir(t), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %s in %v (cached=%v)", name, img.Tar, time.Since(start).Round(time.Millisecond), img.Cached)
	return img
}
