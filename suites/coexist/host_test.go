package coexist_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
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
	witnessNS      = "relapse-witness"
	witnessImage   = "relapse.local/pause:latest"
)

// Paths each host daemon creates; for a daemon the test started it removes
// the ones that did not exist before (and, in the ones that did, the
// entries it added), so the machine is left as it was found. For a daemon
// that already ran they are its own and are never touched.
var (
	containerdPaths = []string{"/var/lib/containerd", "/run/containerd"}
	dockerdPaths    = []string{"/var/lib/docker", "/run/docker", "/run/docker.sock", "/run/docker.pid", "/etc/docker/key.json"}
)

// daemon is one host daemon: one the test started (cmd set) or one that
// already ran here, a CI runner's Docker or a workstation's, which the test
// adopts and never stops.
type daemon struct {
	name string
	pid  int
	cmd  *exec.Cmd
}

func (d daemon) started() bool { return d.cmd != nil }

func (d daemon) String() string {
	how := "adopted: it ran before the test"
	if d.started() {
		how = "started from " + d.cmd.Path
	}
	return fmt.Sprintf("host %s pid %d (%s)", d.name, d.pid, how)
}

// host is the pair of host daemons and the witnesses the test added.
type host struct {
	t          *testing.T
	containerd daemon
	dockerd    daemon
	witness    string              // the witness containers' name, unique to this test
	hadImage   bool                // the host dockerd had the witness image before
	hadNS      bool                // the host containerd had the witness namespace before
	pristine   snapshot            // adopted daemons' state before the witnesses
	existed    map[string]bool     // every path below the daemons' paths before they ran
	iptables   map[string][]string // table -> `iptables -t table -S` before dockerd
	forward    []byte              // net.ipv4.ip_forward before dockerd
	hadDocker0 bool
}

// startHost adopts the host containerd and dockerd that already run, and
// starts the ones that do not from the system packages: containerd first,
// then dockerd (which finds the host containerd on its default socket, as
// Debian's docker.service has it). It registers the stop of what it
// started and the removal of what that made.
func startHost(t *testing.T, ctx context.Context, logDir string) *host {
	t.Helper()
	h := &host{
		t:        t,
		witness:  fmt.Sprintf("relapse-witness-%d", os.Getpid()),
		existed:  pathsBelow(append(append([]string{}, containerdPaths...), dockerdPaths...)),
		iptables: map[string][]string{},
	}
	for _, table := range iptablesTables {
		out, err := exec.Command("iptables", "-t", table, "-S").Output()
		if err != nil {
			t.Fatalf("iptables -t %s -S: %v", table, err)
		}
		h.iptables[table] = lines(string(out))
	}
	h.forward, _ = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	_, err := os.Stat("/sys/class/net/docker0")
	h.hadDocker0 = err == nil
	t.Cleanup(h.restored) // cleanups run last first: after stop
	t.Cleanup(h.stop)

	h.containerd = adoptOrStart(t, ctx, "containerd", hostContainerd, filepath.Join(logDir, "host-containerd.log"), "ctr", "version")
	h.dockerd = adoptOrStart(t, ctx, "dockerd", hostDockerd, filepath.Join(logDir, "host-dockerd.log"), "docker", "-H", dockerSock, "info")
	t.Logf("%s; %s", h.containerd, h.dockerd)
	return h
}

// adoptOrStart returns the running host daemon called name when its client
// command answers, or starts binary and waits until it does.
func adoptOrStart(t *testing.T, ctx context.Context, name, binary, logPath string, client ...string) daemon {
	t.Helper()
	if exec.CommandContext(ctx, client[0], client[1:]...).Run() == nil {
		pid := hostProcess(name)
		if pid == 0 {
			t.Fatalf("a host %s answers `%s` but no %s process runs in this mount namespace", name, strings.Join(client, " "), name)
		}
		return daemon{name: name, pid: pid}
	}
	cmd := startDaemon(t, logPath, binary)
	waitCmd(t, ctx, "host "+name, client[0], client[1:]...)
	return daemon{name: name, pid: cmd.Process.Pid, cmd: cmd}
}

// hostProcess finds the host's process called name: the one in this
// process' mount namespace (every relapse sandbox has its own). A dockerd's
// managed containerd (state under /run/docker) is not the host containerd.
func hostProcess(name string) int {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return 0
	}
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range comms {
		comm, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		dir := filepath.Dir(p)
		if ns, err := os.Readlink(filepath.Join(dir, "ns", "mnt")); err != nil || ns != self {
			continue
		}
		if cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline")); strings.Contains(string(cmdline), "/run/docker/containerd") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(dir)); err == nil {
			return pid
		}
	}
	return 0
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
// container in each: dockerd's in its moby namespace, containerd's in a
// namespace of its own. On adopted daemons they are the only change the
// test makes, and stop removes them.
func (h *host) witnesses(archive, ref string) {
	if !h.containerd.started() && !h.dockerd.started() {
		s, err := take(h.containerd.pid, h.dockerd.pid)
		if err != nil {
			h.t.Fatal(err)
		}
		h.pristine = s
	}
	h.hadImage = exec.Command("docker", "-H", dockerSock, "image", "inspect", ref).Run() == nil
	nss, _ := cmdOutput("ctr", "namespaces", "ls", "-q")
	h.hadNS = slices.Contains(strings.Fields(nss), witnessNS)
	run(h.t, "docker", "-H", dockerSock, "load", "-i", archive)
	run(h.t, "docker", "-H", dockerSock, "run", "-d", "--name", h.witness, ref)
	run(h.t, "ctr", "-n", witnessNS, "images", "import", archive)
	run(h.t, "ctr", "-n", witnessNS, "run", "-d", ref, h.witness)
}

// restored checks that adopted daemons are left exactly as the test found
// them once stop has removed the witnesses.
func (h *host) restored() {
	if h.pristine == nil {
		return
	}
	now, err := take(h.containerd.pid, h.dockerd.pid)
	if err != nil {
		h.t.Error(err)
		return
	}
	// A bbolt store does not shrink when the witnesses' records go: its
	// name must stay, its size may not.
	names := func(s snapshot) snapshot {
		var out snapshot
		for _, l := range s {
			if i := strings.Index(l, ".db size "); i >= 0 {
				l = l[:i+len(".db")]
			}
			out = append(out, l)
		}
		return out
	}
	if d := diff(names(h.pristine), names(now)); len(d) > 0 {
		h.t.Errorf("the adopted host runtimes are not as the test found them:\n  %s", strings.Join(d, "\n  "))
	}
}

// stop removes the witnesses, then stops the daemons the test started,
// kills the shims they left and removes every path and network change they
// made. Adopted daemons keep running, with their shims, paths and rules.
func (h *host) stop() {
	t := h.t
	quiet := func(name string, args ...string) { _ = exec.Command(name, args...).Run() }
	if h.dockerd.pid != 0 {
		quiet("docker", "-H", dockerSock, "rm", "-f", h.witness)
		if !h.hadImage {
			quiet("docker", "-H", dockerSock, "rmi", "-f", witnessImage)
		}
	}
	if h.containerd.pid != 0 {
		quiet("ctr", "-n", witnessNS, "tasks", "kill", "-s", "SIGKILL", h.witness)
		time.Sleep(500 * time.Millisecond)
		quiet("ctr", "-n", witnessNS, "tasks", "delete", "-f", h.witness)
		quiet("ctr", "-n", witnessNS, "containers", "delete", h.witness)
		if !h.hadNS {
			// --sync collects the image's blobs and snapshots now: a
			// namespace is only removed once it is empty.
			quiet("ctr", "-n", witnessNS, "images", "rm", "--sync", witnessImage)
			for i := 0; exec.Command("ctr", "namespaces", "remove", witnessNS).Run() != nil; i++ {
				if i == 20 {
					t.Errorf("the witness namespace %s is left in the host containerd: it did not empty", witnessNS)
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
	}
	var made []string
	if h.dockerd.started() {
		stopDaemon(t, h.dockerd.cmd)
		made = append(made, dockerdPaths...)
	}
	if h.containerd.started() {
		stopDaemon(t, h.containerd.cmd)
		// Shims of the host containerd outlive it by design.
		for _, pid := range hostShims() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(500 * time.Millisecond)
		made = append(made, containerdPaths...)
	}
	h.unmountMade(made)
	// Remove what appeared below the paths, deepest first; what was there
	// before (another user's shim socket, say) stays.
	now := pathsBelow(made)
	var added []string
	for p := range now {
		if !h.existed[p] {
			added = append(added, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(added)))
	for _, p := range added {
		if err := os.RemoveAll(p); err != nil {
			t.Errorf("removing %s: %v", p, err)
		}
	}
	if !h.dockerd.started() {
		return
	}
	h.restoreIptables()
	if len(h.forward) > 0 {
		_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", h.forward, 0o644)
	}
	if !h.hadDocker0 {
		quiet("ip", "link", "del", "docker0")
	}
}

// unmountMade lazily unmounts what the host daemons left mounted below the
// paths they made (overlay rootfs, netns bind mounts, shm).
func (h *host) unmountMade(roots []string) {
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
		for _, p := range roots {
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

// iptablesTables are the tables dockerd writes rules to.
var iptablesTables = []string{"filter", "nat", "mangle", "raw"}

// restoreIptables deletes the rules and then the chains that were not there
// before dockerd ran; rules and chains that were (the host's own) stay.
func (h *host) restoreIptables() {
	for _, table := range iptablesTables {
		out, err := exec.Command("iptables", "-t", table, "-S").Output()
		if err != nil {
			h.t.Errorf("iptables -t %s -S: %v", table, err)
			continue
		}
		before := map[string]bool{}
		for _, l := range h.iptables[table] {
			before[l] = true
		}
		var chains []string
		for _, l := range lines(string(out)) {
			if before[l] {
				continue
			}
			f := strings.Fields(l)
			switch f[0] {
			case "-A":
				if out, err := exec.Command("iptables", append([]string{"-t", table, "-D"}, f[1:]...)...).CombinedOutput(); err != nil {
					h.t.Errorf("iptables -t %s %s: %v: %s", table, l, err, out)
				}
			case "-N":
				chains = append(chains, f[1])
			}
		}
		for _, c := range chains {
			if out, err := exec.Command("iptables", "-t", table, "-X", c).CombinedOutput(); err != nil {
				h.t.Errorf("iptables -t %s -X %s: %v: %s", table, c, err, out)
			}
		}
	}
}

// pathsBelow lists every path at or below roots.
func pathsBelow(roots []string) map[string]bool {
	out := map[string]bool{}
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				out[p] = true
			}
			return nil
		})
	}
	return out
}
