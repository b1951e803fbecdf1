package diag

import (
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// TestProcessStartToTheTick: a process started now is placed within a few
// ticks of now. The btime-based start (procfs' StartTime) misses by the
// fraction of a second the kernel truncated from the boot time, up to a
// whole second: on the reference machine 0.93 s, which left a watchdog's
// one-second warm-up 0.07 s long.
func TestProcessStartToTheTick(t *testing.T) {
	before := time.Now()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p, err := procfs.NewProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Stat()
	if err != nil {
		t.Fatal(err)
	}
	start, err := processStart(st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const slack = 30 * time.Millisecond // two ticks and the reads between
	if start.Before(before.Add(-slack)) || start.After(after.Add(slack)) {
		t.Errorf("process start %s, want between %s and %s (±%v)", start.Format(time.StampMicro), before.Format(time.StampMicro), after.Format(time.StampMicro), slack)
	}
	if old, err := st.StartTime(); err == nil {
		t.Logf("btime-based start is off by %.3fs", before.Sub(time.Unix(0, int64(old*float64(time.Second)))).Seconds())
	}
}
