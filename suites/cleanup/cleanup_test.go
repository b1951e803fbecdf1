// Package cleanup_test shows that a relapse run leaves nothing behind: not
// after it finishes, not after Ctrl-C in the middle of a variant, and not
// after the suite process is SIGKILLed (the next run's sweep removes it).
// It drives the real `relapse run` in a child process, as a user does.
package cleanup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
	"github.com/relapse-dev/relapse/suites/internal/child"
)

// incident is the one the child suite runs by default: quick, and it
// leaves a containerd, a shim, a pod and a container process to clean up.
const incident = "containerd-huge-log-line"

// readyLine is narrated once the workload container runs.
const readyLine = "hugeline writing"

// The processes alive before a test, so that everything a run started and
// left can be found without knowing what the incident starts.
type procSet map[string]bool

func TestCtrlCMidRunLeavesNothing(t *testing.T) {
	ctrlC(t, incident, readyLine)
}

// TestCtrlCWithReaderInDLeavesNothing interrupts the kill-loop incident
// while its reader sits in D on the hung FUSE mount: the hang must be
// released, the reader die, and dockerd, its containerd and shims go.
func TestCtrlCWithReaderInDLeavesNothing(t *testing.T) {
	ctrlC(t, "dockerd-kill-dstate", "in D at", "-variant", "dstate")
	assertNoHang(t)
}

// TestCtrlCWithJobsLeavesNothing interrupts two kill loops running side by
// side (relapse run -jobs 2: a parent and two child processes, each child
// with its own dockerd and a reader in D): Ctrl-C reaches all three, and
// both children release their hang and clean up.
func TestCtrlCWithJobsLeavesNothing(t *testing.T) {
	run, mid, procs := twoKillLoops(t)
	t.Logf("interrupting with both variants running in %v", mid)
	if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, 2*time.Minute)
	assertNothingLeft(t, mid, procs)
	assertNoHang(t)
}

// TestKilledJobsParentLeavesNothing SIGKILLs the parent of two kill loops
// running side by side, and only the parent: its children get SIGTERM from
// the kernel and clean up on their own, with no sweep.
func TestKilledJobsParentLeavesNothing(t *testing.T) {
	run, mid, procs := twoKillLoops(t)
	// Should the children outlive the test, they go too (and the next
	// run's sweep takes what they leave).
	t.Cleanup(func() { _ = syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGKILL) })
	if err := run.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, time.Minute)
	// The children are in the parent's process group: wait for it to
	// empty, well before their kill loops would have ended on their own
	// (81 s each, then the closed stdin would stop them).
	killed := time.Now()
	for syscall.Kill(-run.Cmd.Process.Pid, 0) == nil {
		if time.Since(killed) > time.Minute {
			t.Fatalf("the children of the killed parent still run a minute later: they did not stop")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the children stopped and cleaned up %s after their parent was killed", time.Since(killed).Round(100*time.Millisecond))
	assertNothingLeft(t, mid, procs)
	assertNoHang(t)
}

// twoKillLoops starts `relapse run -jobs 2` on the kill-loop incident and
// returns once both children have a reader in D, with the sandbox roots
// they made and the processes alive before.
func twoKillLoops(t *testing.T) (*child.Run, []string, procSet) {
	t.Helper()
	before, procs := roots(t), processes()
	run := startSuite(t, "dockerd-kill-dstate", "-jobs", "2")
	for range 2 {
		run.WaitLine(t, "in D at", 2*time.Minute)
	}
	return run, newRoots(t, before), procs
}

// assertNoHang fails t if a task sits in D or a relapse FUSE mount is left.
func assertNoHang(t *testing.T) {
	t.Helper()
	if n := dstateTasks(); len(n) > 0 {
		t.Fatalf("tasks still in D after the interrupted run: %v", n)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mi), "relapse-fusehang") {
		t.Fatal("a relapse FUSE mount is still mounted after the interrupted run")
	}
}

func ctrlC(t *testing.T, incident, readyLine string, extra ...string) {
	before, procs := roots(t), processes()
	run := startSuite(t, incident, extra...)
	run.WaitLine(t, readyLine, 90*time.Second)
	mid := newRoots(t, before)
	if len(mid) == 0 {
		t.Fatalf("no sandbox root appeared under %s while the variant ran", runtime.TempBase)
	}
	t.Logf("interrupting with the variant running in %v", mid)
	// Ctrl-C reaches the whole foreground process group.
	if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, 2*time.Minute)
	assertNothingLeft(t, mid, procs)
}

func TestKilledRunIsSweptByTheNextStart(t *testing.T) {
	before, procs := roots(t), processes()
	run := startSuite(t, incident)
	run.WaitLine(t, readyLine, 90*time.Second)
	mid := newRoots(t, before)
	if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.WaitExit(t, time.Minute)
	// SIGKILL gives no chance to clean up: the daemon dies with its parent
	// (Pdeathsig), but shims, containers, mounts and the root stay until
	// the next run's sweep.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runtime.Sweep(ctx, t.Logf); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	assertNothingLeft(t, mid, procs)
}

func TestFinishedRunLeavesNothing(t *testing.T) {
	before, procs := roots(t), processes()
	run := startSuite(t, incident)
	if err := run.Wait(); err != nil {
		t.Fatalf("relapse run failed: %v", err)
	}
	// Every root the run made is gone, so there is nothing new to list.
	if left := newRoots(t, before); len(left) > 0 {
		t.Fatalf("roots left after a finished run: %v", left)
	}
	assertNothingLeft(t, nil, procs)
}

// startSuite runs `relapse run` for one incident in its own process group,
// with results in a temp dir.
func startSuite(t *testing.T, incident string, extra ...string) *child.Run {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatal("cleanup tests start real runtimes and must run as root")
	}
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return child.Start(t, child.Build(t, root), root, append([]string{incident}, extra...)...)
}

// roots lists the sandbox roots under the temp base.
func roots(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	entries, err := os.ReadDir(runtime.TempBase)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		out[filepath.Join(runtime.TempBase, e.Name())] = true
	}
	return out
}

func newRoots(t *testing.T, before map[string]bool) []string {
	var out []string
	for r := range roots(t) {
		if !before[r] {
			out = append(out, r)
		}
	}
	return out
}

// assertNothingLeft checks that no root of mid exists, nothing is mounted
// below any of them, and no process the run started survives: no daemon or
// shim pointing into a root, and no process at all that was not alive
// before the run (a workload container, a runc init, a FUSE server),
// whatever the incident started.
func assertNothingLeft(t *testing.T, mid []string, before procSet) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		problems := append(leftovers(mid), newProcesses(before)...)
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind:\n  %s", strings.Join(problems, "\n  "))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func leftovers(mid []string) []string {
	var problems []string
	for _, r := range mid {
		if _, err := os.Stat(r); err == nil {
			problems = append(problems, "root "+r)
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mi), "\n") {
			f := strings.Fields(l)
			if len(f) < 5 {
				continue
			}
			for _, r := range mid {
				if strings.HasPrefix(f[4], r) {
					problems = append(problems, "mount "+f[4])
				}
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		for _, r := range mid {
			if strings.Contains(cmd, r) {
				problems = append(problems, "process "+filepath.Dir(p)+": "+cmd)
			}
		}
	}
	return problems
}

// pfKthread is the kernel's PF_KTHREAD task flag.
const pfKthread = 0x00200000

// dstateTasks lists the user tasks in uninterruptible sleep (kernel
// workers pass through D on their own and are not ours).
func dstateTasks() []string {
	tasks, err := probe.DStateTasks()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, t := range tasks {
		if !t.Kernel {
			out = append(out, fmt.Sprintf("%d %s in %s", t.PID, t.Comm, t.Wchan))
		}
	}
	return out
}

// processes lists the user processes alive now, keyed by pid and start
// time (a pid can be reused).
func processes() procSet {
	out := procSet{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		if key, ok := procKey(p); ok {
			out[key] = true
		}
	}
	return out
}

// newProcesses names the processes alive now that were not in before and
// live in another mount namespace than this test: containers, runc init,
// whatever a sandbox started inside its own world, whatever the incident.
// (Daemons and shims in the host's namespace name a sandbox root and are
// found by leftovers; anything else new on the machine, such as another
// user's shell, is not the run's.)
func newProcesses(before procSet) []string {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return []string{"reading this test's mount namespace: " + err.Error()}
	}
	var out []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		key, ok := procKey(p)
		if !ok || before[key] {
			continue
		}
		dir := filepath.Dir(p)
		if ns, err := os.Readlink(filepath.Join(dir, "ns", "mnt")); err != nil || ns == self {
			continue
		}
		// The command line of a task in D can block: read its name only.
		comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
		out = append(out, "process started by the run in its own mount namespace "+dir+": "+strings.TrimSpace(string(comm)))
	}
	return out
}

// procKey is "pid@starttime" of a user task's stat file; kernel threads
// (PF_KTHREAD) come and go on their own and are skipped.
func procKey(stat string) (string, bool) {
	b, err := os.ReadFile(stat)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", false
	}
	if flags, err := strconv.ParseUint(f[6], 10, 64); err != nil || flags&pfKthread != 0 {
		return "", false
	}
	return filepath.Base(filepath.Dir(stat)) + "@" + f[19], true
}
