package coexist_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Host daemons as a user's machine runs them: the Debian packages'
// binaries with their default paths and configs.
const (
	hostContainerd = "/usr/bin/containerd"
	hostDockerd    = "/usr/sbin/dockerd"
	dockerSock     = "unix:///run/docker.sock"
	witnessNS      = "witness"
	witnessName    = "relapse-witness"
)

// madePaths are the host paths the host daemons create; the test removes
// the ones that did not exist before it (and, in the ones that did, the
// entries it added), so the machine is left as it was found.
var madePaths = []string{"/var/lib/containerd", "/var/lib/docker", "/run/containerd", "/run/docker", "/run/docker.sock", "/run/docker.pid", "/etc/docker/key.json"}

// host is the pair of host daemons the test starts and stops.
type host struct {
	t          *testing.T
	containerd *exec.Cmd
	dockerd    *exec.Cmd
	existed    map[string][]string // path -> its entries before (nil entries: a file)
	iptables   []byte              // iptables-save before dockerd
	forward    []byte              // net.ipv4.ip_forward before dockerd
	hadDocker0 bool
}

// startHost starts containerd then dockerd (which finds the host
// containerd on its default socket, as Debian's docker.service has it) and
// registers their stop and the removal of what they made.
func startHost(t *testing.T, ctx context.Context, logDir string) *host {
	t.Helper()
	h := &host{t: t, existed: map[string][]string{}}
	for _, p := range madePaths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		h.existed[p] = []string{}
		if fi.IsDir() {
			entries, _ := os.ReadDir(p)
			for _, e := range entries {
				h.existed[p] = append(h.existed[p], e.Name())
			}
		}
	}
	var err error
	if h.iptables, err = exec.Command("iptables-save").Output(); err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	h.forward, _ = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	_, err = os.Stat("/sys/class/net/docker0")
	h.hadDocker0 = err == nil
	t.Cleanup(h.stop)

	h.containerd = startDaemon(t, filepath.Join(logDir, "host-containerd.log"), hostContainerd)
	waitCmd(t, ctx, "host containerd", "ctr", "version")
	h.dockerd = startDaemon(t, filepath.Join(logDir, "host-dockerd.log"), hostDockerd)
	waitCmd(t, ctx, "host dockerd", "docker", "-H", dockerSock, "info")
	t.Logf("host containerd pid %d, host dockerd pid %d", h.containerd.Process.Pid, h.dockerd.Process.Pid)
	return h
}

// startDaemon runs a daemon with its default configuration; it dies with
// the test (Pdeathsig) should the test itself be killed.
func startDaemon(t *testing.T, logPath, binary string, args ...string) *exec.Cmd {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd
}

func waitCmd(t *testing.T, ctx context.Context, what string, name string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v: %s", what, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// witnesses loads relapse's pause image into both host daemons and runs one
// container in each: dockerd's in its moby namespace, containerd's in the
// "witness" namespace.
func (h *host) witnesses(archive, ref string) {
	run(h.t, "docker", "-H", dockerSock, "load", "-i", archive)
	run(h.t, "docker", "-H", dockerSock, "run", "-d", "--name", witnessName, ref)
	run(h.t, "ctr", "-n", witnessNS, "images", "import", archive)
	run(h.t, "ctr", "-n", witnessNS, "run", "-d", ref, witnessName)
}

// stop removes the witnesses, stops both daemons, kills the host shims
// left, and removes every path and network change the daemons made.
func (h *host) stop() {
	t := h.t
	quiet := func(name string, args ...string) { _ = exec.Command(name, args...).Run() }
	if h.dockerd != nil {
		quiet("docker", "-H", dockerSock, "rm", "-f", witnessName)
		quiet("docker", "-H", dockerSock, "rmi", "-f", "relapse.local/pause:latest")
		stopDaemon(t, h.dockerd)
	}
	if h.containerd != nil {
		quiet("ctr", "-n", witnessNS, "tasks", "kill", "-s", "SIGKILL", witnessName)
		time.Sleep(500 * time.Millisecond)
		quiet("ctr", "-n", witnessNS, "tasks", "delete", "-f", witnessName)
		quiet("ctr", "-n", witnessNS, "containers", "delete", witnessName)
		stopDaemon(t, h.containerd)
	}
	// Shims of the host containerd outlive it by design.
	for _, pid := range hostShims() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	time.Sleep(500 * time.Millisecond)
	h.unmountMade()
	for _, p := range madePaths {
		before, existed := h.existed[p]
		if !existed {
			if err := os.RemoveAll(p); err != nil {
				t.Errorf("removing %s: %v", p, err)
			}
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			if !contains(before, e.Name()) {
				_ = os.RemoveAll(filepath.Join(p, e.Name()))
			}
		}
	}
	if len(h.iptables) > 0 {
		restore := exec.Command("iptables-restore")
		restore.Stdin = strings.NewReader(string(h.iptables))
		if out, err := restore.CombinedOutput(); err != nil {
			t.Errorf("iptables-restore: %v: %s", err, out)
		}
		// iptables-restore leaves the chains dockerd added to other tables.
		for _, table := range []string{"nat", "filter"} {
			for _, chain := range []string{"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"} {
				if !strings.Contains(string(h.iptables), ":"+chain+" ") {
					quiet("iptables", "-t", table, "-F", chain)
					quiet("iptables", "-t", table, "-X", chain)
				}
			}
		}
	}
	if len(h.forward) > 0 {
		_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", h.forward, 0o644)
	}
	if !h.hadDocker0 {
		quiet("ip", "link", "del", "docker0")
	}
}

// unmountMade lazily unmounts what the host daemons left mounted below the
// paths they made (overlay rootfs, netns bind mounts, shm).
func (h *host) unmountMade() {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	lines := strings.Split(string(mi), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) < 5 {
			continue
		}
		for _, p := range []string{"/var/lib/containerd", "/var/lib/docker", "/run/containerd", "/run/docker"} {
			if f[4] == p || strings.HasPrefix(f[4], p+"/") {
				_ = syscall.Unmount(f[4], syscall.MNT_DETACH)
			}
		}
	}
}

func stopDaemon(t *testing.T, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for range 150 {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)); err == nil && strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s did not stop in 15 s: SIGKILL", cmd.Path)
	_ = cmd.Process.Kill()
}

// hostShims lists the shims serving the host containerd (their -address is
// its default socket).
func hostShims() []int {
	var out []int
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i, a := range args {
			if (a == "-address" || a == "--address") && i+1 < len(args) && args[i+1] == "/run/containerd/containerd.sock" {
				if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
					out = append(out, pid)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
