package runtime

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// helper is a re-executed test binary in a helper mode (see TestMain).
type helper struct {
	pid  int
	done chan struct{} // closed once reaped
	err  error         // Wait's result, once done
}

// startHelper starts a helper with extra args and kills it when the test ends.
func startHelper(t *testing.T, mode string, args ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { h.err = cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-h.done
	})
	return h
}

// TestGuardKillsProcessPastLimit: a process that keeps allocating is
// SIGKILLed once its RSS passes the limit, and the report says so.
func TestGuardKillsProcessPastLimit(t *testing.T) {
	const limit = 128 << 20
	h := startHelper(t, "alloc")
	pid := h.pid
	g, err := StartGuard("alloc-helper", func() int { return pid }, limit, 0, testLogf(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()

	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		t.Fatal("alloc helper still running after 30s: the guard did not fire")
	}
	werr := h.err
	var ee *exec.ExitError
	if !errors.As(werr, &ee) {
		t.Fatalf("alloc helper ended with %v, want killed by SIGKILL", werr)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("alloc helper ended with %v, want killed by SIGKILL", werr)
	}
	r := g.Report()
	if !r.Fired || r.At.IsZero() {
		t.Errorf("report %+v: want Fired with a time", r)
	}
	if r.Limit != limit || r.PeakRSS <= limit {
		t.Errorf("report %+v: want Limit %d and PeakRSS above it", r, limit)
	}
	// 16 MiB every 10ms and a 50ms poll: the overshoot is a few steps.
	if r.PeakRSS > limit+256<<20 {
		t.Errorf("PeakRSS %d MiB overshoots the %d MiB limit by more than 256 MiB", r.PeakRSS>>20, limit>>20)
	}
	t.Logf("guard fired at peak RSS %d MiB (limit %d MiB)", r.PeakRSS>>20, limit>>20)
}

// TestGuardQuietUnderLimit: a process under the limit is watched, not killed.
func TestGuardQuietUnderLimit(t *testing.T) {
	pid := startHelper(t, "sleep").pid
	g, err := StartGuard("sleep-helper", func() int { return pid }, 0, 10*time.Millisecond, testLogf(t))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	g.Stop()
	g.Stop() // idempotent
	r := g.Report()
	if r.Fired || r.PeakRSS == 0 || r.Limit != DefaultMemoryLimit {
		t.Errorf("report %+v: want not fired, a peak RSS, the default limit", r)
	}
	if _, err := procStartTime(pid); err != nil {
		t.Errorf("helper died under the limit: %v", err)
	}
}
