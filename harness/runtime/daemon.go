package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// defaultStartTimeout bounds Start when its ctx has no deadline.
const defaultStartTimeout = 60 * time.Second

// killWait bounds how long a SIGKILLed daemon may take to be reaped.
const killWait = 30 * time.Second

// daemon runs one process of a daemon binary at a time: it starts it in its
// own process group with its output appended to a log file, reaps it, stops
// it gracefully or kills it. Containerd and dockerd sandboxes share it.
type daemon struct {
	name    string
	binary  string
	args    []string
	env     []string
	dir     string
	logPath string
	// pidPath, when set, receives the pid of each process started (for
	// daemons that have no pidfile option of their own).
	pidPath string
	// ns, when set, is the sandbox's private namespace the daemon is
	// started in (through nsenter, which execs it: the pid stays the
	// daemon's).
	ns *namespace

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been reaped
	err  error         // cmd's exit status once done
}

// start execs the daemon. The child gets SIGKILL when the thread that
// started it dies (Pdeathsig), so the thread is locked for the start; it
// lives in its own process group so a Ctrl-C at the terminal reaches the
// harness, which then stops the daemon in order, and not the daemon itself.
func (d *daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runningLocked() {
		return fmt.Errorf("%s is already running (pid %d)", d.name, d.cmd.Process.Pid)
	}
	logFile, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s log: %w", d.name, err)
	}
	defer logFile.Close() // the child has its own copy
	fmt.Fprintf(logFile, "--- relapse: starting %s %s at %s ---\n", d.binary, strings.Join(d.args, " "), time.Now().Format(time.RFC3339Nano))

	goruntime.LockOSThread()
	name, args := d.binary, d.args
	if d.ns != nil {
		name, args = d.ns.command(d.binary, d.args, !threadInPrivateNet())
	}
	cmd := exec.Command(name, args...)
	cmd.Env = d.env
	cmd.Dir = d.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	goruntime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("start %s: %w", d.name, err)
	}
	done := make(chan struct{})
	d.cmd, d.done, d.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(done)
	}()
	if d.pidPath != "" {
		if err := os.WriteFile(d.pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			return fmt.Errorf("%s pidfile: %w", d.name, err)
		}
	}
	return nil
}

func (d *daemon) runningLocked() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// pid is the running process' pid, 0 while down.
func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.runningLocked() {
		return 0
	}
	return d.cmd.Process.Pid
}

// exited is closed when the current (or last) process has been reaped.
func (d *daemon) exited() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return d.done
}

// exitStatus describes how the last process ended.
func (d *daemon) exitStatus() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return "never started"
	}
	if d.runningLocked() {
		return "running"
	}
	if d.err == nil {
		return "exit status 0"
	}
	return d.err.Error()
}

// signal sends sig to the running process; false when it is down.
func (d *daemon) signal(sig syscall.Signal) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.runningLocked() {
		return false
	}
	return d.cmd.Process.Signal(sig) == nil
}

// stop sends SIGTERM and waits up to grace (or until ctx ends) for the
// process to exit, then SIGKILLs it.
func (d *daemon) stop(ctx context.Context, grace time.Duration) error {
	if !d.signal(syscall.SIGTERM) {
		return nil
	}
	done := d.exited()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return d.kill()
}

// kill SIGKILLs the process and waits until it has been reaped.
func (d *daemon) kill() error {
	if !d.signal(syscall.SIGKILL) {
		return nil
	}
	select {
	case <-d.exited():
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("%s (pid %d) still not reaped %s after SIGKILL (uninterruptible sleep?)", d.name, d.pid(), killWait)
	}
}

// waitReady polls probe until it succeeds, the process exits, or ctx ends
// (defaultStartTimeout when ctx has no deadline). Failures carry the log's
// tail, which is where a daemon says why it did not come up.
func (d *daemon) waitReady(ctx context.Context, probe func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	exited := d.exited()
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("%s exited during startup (%s); last lines of %s:\n%s", d.name, d.exitStatus(), d.logPath, logTail(d.logPath, 30))
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last probe: %v); last lines of %s:\n%s", d.name, ctx.Err(), last, d.logPath, logTail(d.logPath, 30))
		case <-exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the last n lines of a log file (at most 16 KiB of it).
func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const max = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return fmt.Sprintf("(log: %v)", err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
