// Package child runs `relapse run` the way a user does, as a child process
// in a process group of its own, so the leave-nothing-behind suites can
// interrupt it (Ctrl-C, SIGKILL) like a terminal would, and read what it
// narrates while it runs.
package child

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build compiles the relapse CLI of the repository at root into a
// temporary directory of t.
func Build(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relapse")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, "./cmd/relapse").CombinedOutput(); err != nil {
		t.Fatalf("building relapse: %v\n%s", err, out)
	}
	return bin
}

// Run is one `relapse run` child and the lines it printed.
type Run struct {
	Cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	all   []string
}

// Start runs `bin run args...` in root, with its results in a temporary
// directory of t; the test's cleanup SIGKILLs its process group if it is
// still running.
func Start(t *testing.T, bin, root string, args ...string) *Run {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run"}, args...)...)
	cmd.Dir = root
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
	r := &Run{Cmd: cmd, lines: make(chan string, 4096), done: make(chan struct{})}
	go r.read(pipe)
	return r
}

// read keeps every line; the live channel drops lines nobody waits for
// rather than stall the child.
func (r *Run) read(pipe io.Reader) {
	defer close(r.done)
	defer close(r.lines)
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		r.all = append(r.all, sc.Text())
		select {
		case r.lines <- sc.Text():
		default:
		}
	}
}

// WaitLine waits up to d for a line containing want.
func (r *Run) WaitLine(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("relapse run ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within %s", want, d)
		}
	}
}

// All waits for the child's output to end and returns every line.
func (r *Run) All() []string {
	<-r.done
	return r.all
}

// Tail is the last n lines, once the output has ended.
func (r *Run) Tail(n int) string {
	all := r.All()
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return strings.Join(all, "\n")
}

// Wait waits for the child's output to end, then for the child.
func (r *Run) Wait() error {
	<-r.done
	return r.Cmd.Wait()
}

// WaitExit fails t unless the child exits within d.
func (r *Run) WaitExit(t *testing.T, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("relapse run did not exit within %s", d)
	}
}
