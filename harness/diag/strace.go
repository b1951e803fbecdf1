package diag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"
)

// stopGrace is how long strace gets to detach after SIGINT before SIGKILL
// (the kernel detaches the tracees of a dead tracer too).
const stopGrace = 2 * time.Second

// strace follows t's threads for StraceFor (or until StraceMaxBytes of
// output) and saves what they did: which syscalls a spinning or blocked
// daemon makes, with timestamps.
func (c *collection) strace(ctx context.Context, t target) error {
	if t.pid == 0 {
		return fmt.Errorf("%s is not running", t.name)
	}
	bin, err := exec.LookPath("strace")
	if err != nil {
		return fmt.Errorf("strace not installed (Debian package strace, see scripts/install-deps.sh): %w", err)
	}
	p := filepath.Join(c.dir, t.name+"-strace.txt")
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	defer out.Close()
	fmt.Fprintf(out, "# strace -f -tt -T -s 128 -p %d (%s) for at most %s or %d bytes\n", t.pid, t.name, c.opts.StraceFor, c.opts.StraceMaxBytes)

	cmd := exec.Command(bin, "-f", "-tt", "-T", "-s", "128", "-p", strconv.Itoa(t.pid))
	// strace writes its trace to stderr; exec copies it through the cap and
	// Wait returns once the copy is done.
	capped := &cappedWriter{w: out, left: c.opts.StraceMaxBytes, full: make(chan struct{})}
	cmd.Stderr = capped
	// Pdeathsig: if the harness dies, strace dies and the kernel detaches
	// the daemon instead of leaving it traced forever. It is tied to the
	// thread that forks, hence the lock.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	goruntime.LockOSThread()
	err = cmd.Start()
	goruntime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("start strace: %w", err)
	}
	c.add(p)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	timer := time.NewTimer(c.opts.StraceFor)
	defer timer.Stop()
	var waitErr error
	note, done := "", false
	select {
	case waitErr = <-exited:
		note, done = "strace exited by itself (the daemon exited?)", true
	case <-timer.C:
	case <-capped.full:
		note = fmt.Sprintf("output cut at %d bytes", c.opts.StraceMaxBytes)
	case <-ctx.Done():
		note = "cut short: " + ctx.Err().Error()
	}
	if !done {
		waitErr = stopStrace(cmd, exited)
	}
	if note != "" {
		fmt.Fprintf(out, "# %s\n", note)
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return fmt.Errorf("strace: %w", waitErr)
	}
	if capped.err != nil {
		return fmt.Errorf("strace output: %w", capped.err)
	}
	return nil
}

// cappedWriter passes at most left bytes to w, then closes full and
// discards the rest (strace keeps writing until it is stopped).
type cappedWriter struct {
	w    io.Writer
	left int64
	full chan struct{}
	err  error // first write error; read after Wait
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.left <= 0 {
		return len(p), nil
	}
	q := p
	if int64(len(q)) > c.left {
		q = q[:c.left]
	}
	n, err := c.w.Write(q)
	c.left -= int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	if c.left <= 0 {
		close(c.full)
	}
	return len(p), nil
}

// stopStrace asks strace to detach (SIGINT) and kills it if it does not.
func stopStrace(cmd *exec.Cmd, exited <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		return err
	case <-time.After(stopGrace):
	}
	_ = cmd.Process.Kill()
	return <-exited
}
