package probe

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/fault/fusehang"
)

func TestParseStatState(t *testing.T) {
	for _, tc := range []struct {
		in, comm, state string
		bad             bool
	}{
		{in: "42 (cat) S 1 42", comm: "cat", state: "S"},
		{in: "7 (a ) (D) b) D 1 7", comm: "a ) (D) b", state: "D"},
		{in: "7 (x", bad: true},
		{in: "7 (x)", bad: true},
		{in: "", bad: true},
	} {
		comm, state, err := parseStatState([]byte(tc.in))
		if tc.bad != (err != nil) || comm != tc.comm || state != tc.state {
			t.Errorf("parseStatState(%q) = %q, %q, %v; want %q, %q, bad=%v", tc.in, comm, state, err, tc.comm, tc.state, tc.bad)
		}
	}
}

func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait until it sleeps in the kernel.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		tk, err := ReadTask(cmd.Process.Pid)
		if err == nil && tk.Comm == "sleep" && tk.State == "S" {
			return cmd
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("sleep never went to sleep: %+v %v", tk, err)
		}
	}
}

func TestReadTaskAndStackOfASleeper(t *testing.T) {
	cmd := startSleeper(t)
	pid := cmd.Process.Pid
	tk, err := ReadTask(pid)
	if err != nil {
		t.Fatal(err)
	}
	if tk.PID != pid || tk.Comm != "sleep" || tk.State != "S" {
		t.Fatalf("ReadTask = %+v, want pid %d comm sleep state S", tk, pid)
	}
	stack, err := TaskStack(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stack, "task "+itoa(pid)+" (sleep) of pid "+itoa(pid)+": state S") {
		t.Fatalf("TaskStack lacks the task line:\n%s", stack)
	}
	if os.Geteuid() == 0 && !strings.Contains(stack, "sleep") {
		t.Fatalf("TaskStack as root shows no nanosleep frame:\n%s", stack)
	}
	if _, err := ReadTask(1 << 30); err == nil {
		t.Fatal("ReadTask of a pid that cannot exist succeeded")
	}
	if _, err := TaskStack(1 << 30); err == nil {
		t.Fatal("TaskStack of a pid that cannot exist succeeded")
	}
}

func TestTaskStateMissingWhenNoTask(t *testing.T) {
	if _, err := NewTaskState("", func() int { return 1 }); err == nil {
		t.Fatal("NewTaskState without prefix succeeded")
	}
	for _, pid := range []int{0, 1 << 30} {
		s, err := NewTaskState("reader", func() int { return pid })
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Collect(context.Background())
		if err != nil || len(got) != 0 {
			t.Fatalf("Collect for pid %d = %v, %v; want no sample and no error", pid, got, err)
		}
	}
}

// A reader stuck on a hung FUSE mount and SIGKILLed is the real D task the
// probes exist for.
func TestProbesSeeAReaderStuckOnFUSE(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount FUSE")
	}
	if err := os.MkdirAll("/tmp/relapse", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp/relapse", "probe-dstate-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := fusehang.Mount(ctx, dir, fusehang.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("close hang: %v", err)
		}
	})

	cmd := exec.Command("cat", h.Path())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { h.Release(); cmd.Process.Kill(); <-done })
	if err := h.WaitBlocked(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	src, err := NewTaskState("reader", func() int { return pid })
	if err != nil {
		t.Fatal(err)
	}
	if got, err := src.Collect(ctx); err != nil || got["reader_dstate"] != 0 {
		t.Fatalf("before any signal the FUSE wait is interruptible: reader_dstate = %v, %v; want 0", got, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		got, err := src.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got["reader_dstate"] == 1 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("killed reader never reported D: %+v", src.Last())
		}
	}
	if last := src.Last(); last.State != "D" || last.Comm != "cat" {
		t.Fatalf("Last() = %+v, want cat in D", last)
	}

	tasks, err := DStateTasks()
	if err != nil {
		t.Fatal(err)
	}
	var found *Task
	for i := range tasks {
		if tasks[i].PID == pid {
			found = &tasks[i]
		}
	}
	if found == nil {
		t.Fatalf("DStateTasks misses the stuck reader %d: %+v", pid, tasks)
	}
	if found.Wchan == "" {
		t.Errorf("stuck reader has no wchan: %+v", *found)
	}
	// The count is machine-wide (other D tasks come and go); ours is in it.
	n, err := DStateCount{}.Collect(ctx)
	if err != nil || n["dstate_tasks"] < 1 {
		t.Fatalf("dstate_tasks = %v, %v; want at least the stuck reader", n, err)
	}
	stack, err := TaskStack(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stack, "state D") || !strings.Contains(stack, "fuse") {
		t.Fatalf("TaskStack of the stuck reader shows no D/fuse frame:\n%s", stack)
	}
	t.Logf("stuck reader: %+v\n%s", *found, stack)

	h.Release()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader not reaped after release")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// kthreadd (pid 2) is a kernel thread; this test is not.
func TestReadTaskTellsKernelThreads(t *testing.T) {
	k, err := ReadTask(2)
	if err != nil {
		t.Fatal(err)
	}
	self, err := ReadTask(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !k.Kernel || self.Kernel {
		t.Errorf("pid 2 (%s) kernel %v, this test kernel %v: want true, false", k.Comm, k.Kernel, self.Kernel)
	}
}
