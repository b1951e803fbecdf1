package fusehang

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// needFuse skips tests that need to mount FUSE when this process cannot.
func needFuse(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount FUSE")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
}

// tempDir returns a fresh short directory under /tmp/relapse, removed at the end.
func tempDir(t *testing.T) string {
	t.Helper()
	if err := os.MkdirAll("/tmp/relapse", 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := os.MkdirTemp("/tmp/relapse", "fusehang-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func mountHang(t *testing.T, dir string) *Hang {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := Mount(ctx, dir, Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("cleanup Close: %v", err)
		}
	})
	return h
}

// reader starts cat on path, reaped at the end of the test.
type reader struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

func startReader(t *testing.T, path string) *reader {
	t.Helper()
	r := &reader{cmd: exec.Command("cat", path), done: make(chan error, 1)}
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start cat: %v", err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("reader pid %d still not reaped", r.cmd.Process.Pid)
		}
	})
	return r
}

func (r *reader) waitExit(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // keep it for cleanup
		return err
	case <-time.After(within):
		t.Fatalf("reader pid %d did not exit within %v", r.cmd.Process.Pid, within)
		return nil
	}
}

func taskState(t *testing.T, pid int) string {
	t.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		t.Fatalf("proc %d: %v", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		t.Fatalf("proc %d stat: %v", pid, err)
	}
	return st.State
}

func mountedAt(t *testing.T, dir string) []string {
	t.Helper()
	mounts, err := procfs.GetMounts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		if within(m.MountPoint, dir) {
			out = append(out, m.FSType+" on "+m.MountPoint)
		}
	}
	return out
}

func waitBlocked(t *testing.T, h *Hang, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.WaitBlocked(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestReadSurvivesSIGKILLUntilRelease(t *testing.T) {
	needFuse(t)
	dir := filepath.Join(tempDir(t), "mnt")
	h := mountHang(t, dir)
	if got := mountedAt(t, dir); len(got) != 1 || got[0] != "fuse."+FSName+" on "+dir {
		t.Fatalf("mounts at %s = %v, want one fuse.%s", dir, got, FSName)
	}

	r := startReader(t, h.Path())
	waitBlocked(t, h, 1)
	if got := h.Blocked(); got != 1 {
		t.Fatalf("Blocked() = %d, want 1", got)
	}
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The killed reader must go to D and stay there, alive.
	pid := r.cmd.Process.Pid
	for start := time.Now(); taskState(t, pid) != "D"; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("killed reader state %q after 2s, want D (uninterruptible)", taskState(t, pid))
		}
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if st := taskState(t, pid); st != "D" {
			t.Fatalf("killed reader state %q, want D (uninterruptible)", st)
		}
		select {
		case err := <-r.done:
			t.Fatalf("killed reader exited (%v) while its read was held", err)
		case <-time.After(100 * time.Millisecond):
		}
	}

	h.Release()
	err := r.waitExit(t, 5*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("reader ended with %v, want death by SIGKILL once released", err)
	}
	if got := h.Blocked(); got != 0 {
		t.Fatalf("Blocked() after Release = %d, want 0", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := mountedAt(t, dir); len(got) != 0 {
		t.Fatalf("mounts left after Close: %v", got)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mount directory Mount created still there after Close: %v", err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReleasedReadsAnswerAtOnce(t *testing.T) {
	needFuse(t)
	h := mountHang(t, tempDir(t))
	h.Release()
	done := make(chan struct{})
	var got []byte
	var err error
	go func() { got, err = os.ReadFile(h.Path()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("read after Release still blocked")
	}
	if err != nil || string(got) != string(releasedContent) {
		t.Fatalf("read after Release = %q, %v; want %q", got, err, releasedContent)
	}
}

func TestAbortFailsStuckReaders(t *testing.T) {
	needFuse(t)
	dir := tempDir(t)
	h := mountHang(t, dir)
	r := startReader(t, h.Path())
	waitBlocked(t, h, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	err := r.waitExit(t, 5*time.Second)
	if err == nil || !strings.Contains(r.stderr.String(), "not connected") {
		t.Fatalf("reader after abort: err=%v stderr=%q, want a failed read with ENOTCONN", err, r.stderr.String())
	}
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close after Abort: %v", err)
	}
	if got := mountedAt(t, dir); len(got) != 0 {
		t.Fatalf("mounts left after Close: %v", got)
	}
}

// An open file keeps the plain unmount busy; Close must fall back to the
// fusectl abort and a lazy unmount, and still stop the server.
func TestCloseFallsBackWhenFileStaysOpen(t *testing.T) {
	needFuse(t)
	dir := tempDir(t)
	h := mountHang(t, dir)
	f, err := os.Open(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("sleep", "60")
	holder.Stdin = f
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close with an open file: %v", err)
	}
	if got := mountedAt(t, dir); len(got) != 0 {
		t.Fatalf("mounts left after Close: %v", got)
	}
	t.Logf("Close with a busy mount took %v", time.Since(start).Round(time.Millisecond))
}

// A process started after Mount must not inherit the server's /dev/fuse
// descriptor: it would keep the connection and its hung readers alive.
func TestServerFDNotInherited(t *testing.T) {
	needFuse(t)
	mountHang(t, tempDir(t))
	// The child lists its own descriptors; a vanished entry is no error.
	out, err := exec.Command("sh", "-c", `for f in /proc/$$/fd/*; do readlink "$f"; done; true`).CombinedOutput()
	if err != nil {
		t.Fatalf("list child fds: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "/dev/fuse") {
		t.Fatalf("child inherited /dev/fuse:\n%s", out)
	}
	// This process' descriptors come and go (the runtime's, the server's
	// goroutines'): read them in place, skipping any that close meanwhile,
	// rather than with ls, which fails on such a race.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var self []string
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			self = append(self, target)
		}
	}
	if !slices.Contains(self, "/dev/fuse") {
		t.Fatalf("this process holds no /dev/fuse fd; the test proves nothing: %v", self)
	}
}

func TestMountRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := Mount(ctx, "", Options{}); err == nil || !strings.Contains(err.Error(), "empty mount directory") {
		t.Errorf("Mount(\"\") = %v, want an empty-directory error", err)
	}
	if _, err := Mount(ctx, "/tmp/relapse/x", Options{File: "a/b"}); err == nil || !strings.Contains(err.Error(), "plain name") {
		t.Errorf("Mount with File a/b = %v, want a plain-name error", err)
	}
	if _, err := MakeShared(ctx, ""); err == nil {
		t.Error("MakeShared(\"\") succeeded")
	}
}

func TestParseConn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		bad  bool
	}{
		{in: "0:53", want: 53},
		{in: "8:1", want: 8<<20 | 1},
		{in: "53", bad: true},
		{in: "a:1", bad: true},
		{in: "0:-1", bad: true},
	} {
		got, err := parseConn(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("parseConn(%q) = %d, %v; want %d, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
