package diag

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchdogFollowsProcessAndAPI drives a watchdog over two helper
// processes: the wait grows while the API does not answer, drops to 0 once
// it does, is 0 while the process is down and starts again for the next one.
func TestWatchdogFollowsProcessAndAPI(t *testing.T) {
	first := startHelper(t, "sigusr1")
	var pid atomic.Int64
	pid.Store(int64(first.Process.Pid))
	var answering atomic.Bool
	var pings atomic.Int64
	w, err := NewWatchdog("d", func() int { return int(pid.Load()) }, func(ctx context.Context) error {
		pings.Add(1)
		if answering.Load() {
			return nil
		}
		<-ctx.Done() // a wedged API: connection accepted, no answer
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())

	time.Sleep(time.Second)
	v := collect(t, w)
	// The helper started ~1.2s ago (startHelper waits 200ms).
	if v["d_api_wait_s"] < 1 || v["d_api_wait_s"] > 3 {
		t.Errorf("api wait %.2fs, want the helper's age (~1.2s)", v["d_api_wait_s"])
	}
	if v["d_up"] != 1 || v["d_rss_peak_bytes"] <= 0 {
		t.Errorf("up %v peak rss %v: want 1 and > 0", v["d_up"], v["d_rss_peak_bytes"])
	}
	if n := pings.Load(); n > 6 {
		t.Errorf("%d pings in 1s: want at most one per 250ms", n)
	}

	answering.Store(true)
	waitFor(t, func() bool { return w.Answered() })
	if v := collect(t, w); v["d_api_wait_s"] != 0 || v["d_up"] != 1 {
		t.Errorf("after the API answered: wait %v up %v, want 0 and 1", v["d_api_wait_s"], v["d_up"])
	}
	n := pings.Load()
	time.Sleep(600 * time.Millisecond)
	if pings.Load() != n {
		t.Error("the watchdog keeps pinging an API that answered")
	}

	_ = first.Process.Kill()
	_ = first.Wait()
	waitFor(t, func() bool { return collect(t, w)["d_up"] == 0 })
	if v := collect(t, w); v["d_api_wait_s"] != 0 {
		t.Errorf("down: wait %v, want 0", v["d_api_wait_s"])
	}

	answering.Store(false)
	second := startHelper(t, "sigusr1")
	pid.Store(int64(second.Process.Pid))
	waitFor(t, func() bool { return w.APIWait() > 300*time.Millisecond })
	if w.Answered() {
		t.Error("a new process inherited the old one's answered API")
	}
}

func TestNewWatchdogRefusesBadInput(t *testing.T) {
	if _, err := NewWatchdog("", func() int { return 0 }, func(context.Context) error { return nil }); err == nil {
		t.Error("empty prefix: no error")
	}
	if _, err := NewDockerdWatchdog(nil); err == nil {
		t.Error("nil sandbox: no error")
	}
}

func collect(t *testing.T, w *Watchdog) map[string]float64 {
	t.Helper()
	v, err := w.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not met within 5s"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
