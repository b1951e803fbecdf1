// Package coexist_test shows that relapse runs beside a live host
// containerd and dockerd without using or changing them: it adopts the
// ones already running (a CI runner's Docker, a workstation's) and starts
// the others from the system packages with their default paths, adds a
// running witness container to each, runs one incident variant per runtime through
// `relapse run`, interrupts one with Ctrl-C and SIGKILLs another (the next
// run's sweep cleans it), and checks that the host's daemons, containers,
// tasks, shims, shim sockets, mounts, iptables rules and state trees are
// exactly as before, and that every sandbox ran a containerd of its own.
package coexist_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// sandboxContainerd matches the narration of the containerd a sandbox ran:
// a containerd sandbox's daemon, or the one a dockerd sandbox manages.
var sandboxContainerd = regexp.MustCompile(`containerd \S+ ready \(pid (\d+)\)|its own containerd pid (\d+)`)

func TestRelapseLeavesTheHostRuntimesAlone(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("the coexistence test starts real runtimes and must run as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	repo, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := runtime.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	img, err := workload.Build(ctx, repo, cache, "pause")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "relapse")
	if out, err := exec.Command("go", "build", "-C", repo, "-o", bin, "./cmd/relapse").CombinedOutput(); err != nil {
		t.Fatalf("building relapse: %v\n%s", err, out)
	}

	h := startHost(t, ctx, t.TempDir())
	h.witnesses(img.Tar, img.Ref)
	hostCD, hostDD := h.containerd.pid, h.dockerd.pid
	before, err := take(hostCD, hostDD)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host state: %d lines (containerd pid %d, dockerd pid %d, witnesses %s in moby and %s)", len(before), hostCD, hostDD, h.witness, witnessNS)

	check := func(after string) {
		t.Helper()
		now, err := take(hostCD, hostDD)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(before, now); len(d) > 0 {
			t.Fatalf("the host's runtime state changed %s:\n  %s", after, strings.Join(d, "\n  "))
		}
		t.Logf("host state unchanged %s", after)
	}

	var pids []int
	begin := time.Now()
	if os.Getenv("RELAPSE_COEXIST_ALL") != "" {
		// Every incident variant, beside the host: each must still give
		// its expected verdict (runToEnd fails on any other).
		child, out := start(t, bin, repo, "", "")
		if err := child.Wait(); err != nil {
			t.Fatalf("relapse run (every incident): %v\n%s", err, out.tail())
		}
		for _, it := range out.items() {
			t.Logf("%s: sandbox containerd pid(s) %v", it.name, it.pids)
			if len(it.pids) == 0 {
				t.Errorf("%s never narrated its containerd's pid", it.name)
			}
			pids = append(pids, it.pids...)
		}
		check("after every incident variant")
	}
	pids = append(pids, runToEnd(t, bin, repo, "containerd-huge-log-line", "default")...)
	check("after containerd-huge-log-line/default")
	pids = append(pids, runToEnd(t, bin, repo, "dockerd-kill-dstate", "control")...)
	check("after dockerd-kill-dstate/control")

	child, out := start(t, bin, repo, "containerd-huge-log-line", "default")
	waitLine(t, out, "hugeline writing", 90*time.Second)
	if err := syscall.Kill(-child.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitExit(t, child, 2*time.Minute)
	pids = append(pids, out.pids()...)
	check("after Ctrl-C mid-variant")

	child, out = start(t, bin, repo, "dockerd-kill-dstate", "control")
	waitLine(t, out, "its own containerd pid", 90*time.Second)
	waitLine(t, out, "starting the workload", 90*time.Second)
	time.Sleep(3 * time.Second)
	if err := syscall.Kill(-child.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(t, child, time.Minute)
	pids = append(pids, out.pids()...)
	// The next run sweeps what the killed one left, then runs.
	pids = append(pids, runToEnd(t, bin, repo, "containerd-huge-log-line", "default")...)
	check("after SIGKILL and the next run's sweep")

	if len(pids) < 5 {
		t.Fatalf("saw %d sandbox containerd pids, want one per sandbox (5): %v", len(pids), pids)
	}
	for _, pid := range pids {
		if pid == hostCD {
			t.Fatalf("a sandbox ran on the host's containerd (pid %d)", pid)
		}
	}
	if !alive(hostCD) || !alive(hostDD) {
		t.Fatal("a host daemon died")
	}
	t.Logf("sandbox containerd pids %v, host containerd pid %d (dockerd %d) kept running with its witnesses; %s",
		pids, hostCD, hostDD, time.Since(begin).Round(time.Second))
}

// runToEnd runs one variant to its verdict and returns the containerd pids
// its sandbox narrated.
func runToEnd(t *testing.T, bin, repo, incident, variant string) []int {
	t.Helper()
	child, out := start(t, bin, repo, incident, variant)
	err := child.Wait()
	<-out.done
	if err != nil {
		t.Fatalf("relapse run %s -variant %s: %v\n%s", incident, variant, err, out.tail())
	}
	p := out.pids()
	if len(p) == 0 {
		t.Fatalf("relapse run %s -variant %s never narrated its containerd's pid:\n%s", incident, variant, out.tail())
	}
	t.Logf("%s/%s: sandbox containerd pid(s) %v", incident, variant, p)
	return p
}

// output collects a child's lines.
type output struct {
	lines chan string
	done  chan struct{}
	all   []string
}

func start(t *testing.T, bin, repo, incident, variant string) (*exec.Cmd, *output) {
	t.Helper()
	args := []string{"run"}
	if incident != "" {
		args = append(args, incident, "-variant", variant)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "RELAPSE_RESULTS="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	o := &output{lines: make(chan string, 4096), done: make(chan struct{})}
	go o.read(pipe)
	return cmd, o
}

func (o *output) read(r io.Reader) {
	defer close(o.done)
	defer close(o.lines)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		o.all = append(o.all, sc.Text())
		select {
		case o.lines <- sc.Text():
		default:
		}
	}
}

func (o *output) pids() []int {
	<-o.done
	var out []int
	for _, l := range o.all {
		for _, m := range sandboxContainerd.FindAllStringSubmatch(l, -1) {
			for _, g := range m[1:] {
				if n, err := strconv.Atoi(g); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// item is one plan item of a run and the containerd pids its sandbox
// narrated before its workload started.
type item struct {
	name string
	pids []int
}

var workloadStart = regexp.MustCompile(`(\S+): starting the workload`)

// items splits the narration by plan item.
func (o *output) items() []item {
	<-o.done
	var out []item
	var pending []int
	for _, l := range o.all {
		for _, m := range sandboxContainerd.FindAllStringSubmatch(l, -1) {
			for _, g := range m[1:] {
				if n, err := strconv.Atoi(g); err == nil {
					pending = append(pending, n)
				}
			}
		}
		if m := workloadStart.FindStringSubmatch(l); m != nil {
			out = append(out, item{name: m[1], pids: pending})
			pending = nil
		}
	}
	return out
}

func (o *output) tail() string {
	<-o.done
	all := o.all
	if len(all) > 40 {
		all = all[len(all)-40:]
	}
	return strings.Join(all, "\n")
}

func waitLine(t *testing.T, o *output, want string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-o.lines:
			if !ok {
				t.Fatalf("run ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within %s", want, d)
		}
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("relapse did not exit within %s", d)
	}
}
