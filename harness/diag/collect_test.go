package diag

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// startHelper re-execs the test binary as a helper process and kills it at
// the end of the test.
func startHelper(t *testing.T, mode string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Signal it only once it says its signal handler is installed: on a
	// loaded machine that can take longer than any fixed sleep.
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if line != helperReady {
			t.Fatalf("helper %s printed %q, want %q", mode, line, helperReady)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("helper %s not ready after 30 s", mode)
	}
	return cmd
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Tail(p, 3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "line 997\nline 998\nline 999\n" {
		t.Errorf("Tail(3) = %q", got)
	}
	// A byte cap in the middle of a line drops that partial line.
	got, err = Tail(p, 500, 20)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "line 998\nline 999\n" {
		t.Errorf("Tail(500, 20 bytes) = %q", got)
	}
	if _, err := Tail(filepath.Join(t.TempDir(), "missing"), 3, 1<<20); err == nil {
		t.Error("Tail of a missing file: no error")
	}
}

func TestTaskReport(t *testing.T) {
	cmd := startHelper(t, "sigusr1")
	text, err := TaskReport(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, fmt.Sprintf("pid %d: ", cmd.Process.Pid)) {
		t.Errorf("report does not start with the pid: %.80q", text)
	}
	// A Go process has several threads; the main one waits in a futex or epoll.
	if n := strings.Count(text, "\ntid "); n < 2 {
		t.Errorf("want several threads, got:\n%s", text)
	}
	if !strings.Contains(text, "state S wchan ") {
		t.Errorf("no sleeping thread with a wait channel:\n%s", text)
	}
	if _, err := TaskReport(1 << 30); err == nil {
		t.Error("TaskReport of a pid that cannot exist: no error")
	}
}

// TestStraceBounded checks that strace stops at its byte cap long before its
// time bound, leaves no strace running and the traced process untraced.
func TestStraceBounded(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed")
	}
	cmd := startHelper(t, "spin")
	dir := t.TempDir()
	c := &collection{opts: Options{StraceFor: 30 * time.Second, StraceMaxBytes: 32 << 10}.withDefaults(), dir: dir}
	began := time.Now()
	if err := c.strace(context.Background(), target{name: "spin", pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("strace ran %s: the byte cap did not stop it", took)
	}
	data, err := os.ReadFile(filepath.Join(dir, "spin-strace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("getppid")) {
		t.Errorf("strace output has no getppid calls: %.300q", data)
	}
	if !bytes.Contains(data, []byte("output cut at 32768 bytes")) {
		t.Errorf("strace output does not say it was cut: tail %q", data[max(0, len(data)-200):])
	}
	if len(data) > 40<<10 {
		t.Errorf("strace output is %d bytes, cap 32 KiB", len(data))
	}
	assertUntraced(t, cmd.Process.Pid)
}

// TestStraceTimeBound checks the time bound on a quiet process.
func TestStraceTimeBound(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed")
	}
	cmd := startHelper(t, "sigusr1")
	dir := t.TempDir()
	c := &collection{opts: Options{StraceFor: 700 * time.Millisecond}.withDefaults(), dir: dir}
	began := time.Now()
	if err := c.strace(context.Background(), target{name: "quiet", pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if took < 700*time.Millisecond || took > 5*time.Second {
		t.Errorf("strace with a 700ms bound took %s", took)
	}
	assertUntraced(t, cmd.Process.Pid)
}

func assertUntraced(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("\nTracerPid:\t0\n")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d is still traced after strace was stopped", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processSandbox presents a helper process as a standalone daemon, so that
// Collect's plumbing (pieces, errors file, returned paths) is tested
// without a runtime. The e2e test runs it on a real dockerd.
type processSandbox struct {
	runtime.Sandbox // unused methods panic
	pid             int
	log             string
	root            string
}

func (p processSandbox) Kind() runtime.Kind { return runtime.Containerd }
func (p processSandbox) PID() int           { return p.pid }
func (p processSandbox) LogPath() string    { return p.log }

// Root is an empty directory: the sandbox has no shims.
func (p processSandbox) Root() string { return p.root }

func TestCollectNotesFailedPiecesAndGoesOn(t *testing.T) {
	tmp := t.TempDir()
	cmd := startHelper(t, "sigusr1", "TMPDIR="+tmp)
	log := filepath.Join(t.TempDir(), "daemon.log")
	if err := os.WriteFile(log, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "diagnostics")
	files, err := Options{StraceFor: 300 * time.Millisecond}.Collect(context.Background(), processSandbox{pid: cmd.Process.Pid, log: log, root: t.TempDir()}, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"containerd-log-tail.txt", "containerd-sigusr1-stacks.log", "containerd-tasks.txt", ErrorsFile}
	if _, err := exec.LookPath("strace"); err == nil {
		want = append(want, "containerd-strace.txt")
	}
	got := map[string]bool{}
	for _, f := range files {
		if !filepath.IsAbs(f) || filepath.Dir(f) != dir {
			t.Errorf("file %s: want an absolute path in %s", f, dir)
		}
		got[filepath.Base(f)] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %s in %v", w, files)
		}
	}
	errs, err := os.ReadFile(filepath.Join(dir, ErrorsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(errs, []byte("containerd pprof: the sandbox has no debug socket")) {
		t.Errorf("%s does not name the missing pprof socket:\n%s", ErrorsFile, errs)
	}
	stacks, _ := os.ReadFile(filepath.Join(dir, "containerd-sigusr1-stacks.log"))
	if !bytes.Contains(stacks, []byte("goroutine 1")) {
		t.Errorf("SIGUSR1 dump not copied: %q", stacks)
	}
	tail, _ := os.ReadFile(filepath.Join(dir, "containerd-log-tail.txt"))
	if string(tail) != "one\ntwo\n" {
		t.Errorf("log tail = %q", tail)
	}
}

func TestCollectDownDaemon(t *testing.T) {
	log := filepath.Join(t.TempDir(), "daemon.log")
	if err := os.WriteFile(log, []byte("exited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := Collect(context.Background(), processSandbox{pid: 0, log: log}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Errorf("a down daemon: want its log tail and %s, got %v", ErrorsFile, files)
	}
	errs, _ := os.ReadFile(filepath.Join(dir, ErrorsFile))
	if !bytes.Contains(errs, []byte("containerd tasks: containerd is not running")) {
		t.Errorf("%s:\n%s", ErrorsFile, errs)
	}
}
