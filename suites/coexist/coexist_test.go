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
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
	"github.com/relapse-dev/relapse/suites/internal/child"
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
	bin := child.Build(t, repo)

	h := startHost(t, ctx, t.TempDir())
	h.witnesses(img.Tar, img.Ref)
	hostCD, hostDD := h.containerd.pid, h.dockerd.pid
	before, err := settled(hostCD, hostDD)
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
		run := child.Start(t, bin, repo)
		if err := run.Wait(); err != nil {
			t.Fatalf("relapse run (every incident): %v\n%s", err, run.Tail(40))
		}
		for _, it := range items(run.All()) {
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

	run := child.Start(t, bin, repo, "containerd-huge-log-line", "-variant", "default")
	run.WaitLine(t, "hugeline writing", 90*time.Second)
	if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, 2*time.Minute)
	pids = append(pids, narratedPIDs(run.All())...)
	check("after Ctrl-C mid-variant")

	run = child.Start(t, bin, repo, "dockerd-kill-dstate", "-variant", "control")
	run.WaitLine(t, "its own containerd pid", 90*time.Second)
	run.WaitLine(t, "starting the workload", 90*time.Second)
	time.Sleep(3 * time.Second)
	if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, time.Minute)
	pids = append(pids, narratedPIDs(run.All())...)
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
	run := child.Start(t, bin, repo, incident, "-variant", variant)
	if err := run.Wait(); err != nil {
		t.Fatalf("relapse run %s -variant %s: %v\n%s", incident, variant, err, run.Tail(40))
	}
	p := narratedPIDs(run.All())
	if len(p) == 0 {
		t.Fatalf("relapse run %s -variant %s never narrated its containerd's pid:\n%s", incident, variant, run.Tail(40))
	}
	t.Logf("%s/%s: sandbox containerd pid(s) %v", incident, variant, p)
	return p
}

// linePIDs are the sandbox containerd pids one line narrates.
func linePIDs(l string) []int {
	var out []int
	for _, m := range sandboxContainerd.FindAllStringSubmatch(l, -1) {
		for _, g := range m[1:] {
			if n, err := strconv.Atoi(g); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// narratedPIDs are the sandbox containerd pids a run narrated.
func narratedPIDs(lines []string) []int {
	var out []int
	for _, l := range lines {
		out = append(out, linePIDs(l)...)
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

// items splits a run's narration by plan item.
func items(lines []string) []item {
	var out []item
	var pending []int
	for _, l := range lines {
		pending = append(pending, linePIDs(l)...)
		if m := workloadStart.FindStringSubmatch(l); m != nil {
			out = append(out, item{name: m[1], pids: pending})
			pending = nil
		}
	}
	return out
}
