package cpucost

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// spin burns about d of CPU on the calling goroutine.
func spin(d time.Duration) {
	start, err := Self()
	if err != nil {
		panic(err)
	}
	x := 0
	for {
		for i := range 100000 {
			x += i
		}
		if now, _ := Self(); now-start >= d {
			break
		}
	}
	_ = x
}

func TestSelfAndProcessSeeTheSameSpin(t *testing.T) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	self0, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	p0, err := Process(fs, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	spin(200 * time.Millisecond)
	self1, _ := Self()
	p1, err := Process(fs, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dSelf, dRun, dTicks := self1-self0, p1.Run-p0.Run, p1.Ticks-p0.Ticks
	t.Logf("over a 200 ms spin: getrusage %v, schedstat %v, stat ticks %v", dSelf, dRun, dTicks)
	if dSelf < 200*time.Millisecond {
		t.Errorf("getrusage grew %v over a 200 ms spin", dSelf)
	}
	// Both read the same process: within a tick of each other, and the
	// thread sum misses nothing since no thread of a test binary exits.
	for name, d := range map[string]time.Duration{"schedstat": dRun, "stat ticks": dTicks} {
		if diff := d - dSelf; diff < -30*time.Millisecond || diff > 30*time.Millisecond {
			t.Errorf("%s grew %v, getrusage %v: they should agree within 30 ms", name, d, dSelf)
		}
	}
}

func TestProcessOfAnotherProcess(t *testing.T) {
	// A child that burns CPU: its time shows in Process, not in Self.
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m, err := NewMeter(Target{Name: "child", PID: func() int { return cmd.Process.Pid }})
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := m.Read()
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Since(first)
		if err != nil {
			t.Fatal(err)
		}
		if c.Procs["child"].Run > 50*time.Millisecond {
			t.Logf("child used %v (ticks %v) while the test used %v", c.Procs["child"].Run, c.Procs["child"].Ticks, c.Self)
			if c.Self >= c.Procs["child"].Run {
				t.Errorf("the test itself used %v, at least the child's %v: Self is not this process alone", c.Self, c.Procs["child"].Run)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child's cpu grew only %v in 20 s of a busy loop", c.Procs["child"].Run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReadFailsForAMissingProcess(t *testing.T) {
	m, err := NewMeter(Target{Name: "gone", PID: func() int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Read with a target down: err = %v, want one naming the target", err)
	}
}

func TestNewMeterRejectsDuplicateNames(t *testing.T) {
	pid := func() int { return os.Getpid() }
	if _, err := NewMeter(Target{Name: "a", PID: pid}, Target{Name: "a", PID: pid}); err == nil {
		t.Error("NewMeter with two targets named a: no error")
	}
	if _, err := NewMeter(Target{Name: "b"}); err == nil {
		t.Error("NewMeter with no pid function: no error")
	}
}

func TestSinceRefusesARestartedTarget(t *testing.T) {
	t0 := time.Unix(100, 0)
	before := Snapshot{Wall: t0, PIDs: map[string]int{"dockerd": 10}, Procs: map[string]ProcCPU{"dockerd": {Run: 5 * time.Second}}}
	after := Snapshot{Wall: t0.Add(time.Second), PIDs: map[string]int{"dockerd": 11}, Procs: map[string]ProcCPU{"dockerd": {Run: time.Second}}}
	if _, err := after.Since(before); err == nil || !strings.Contains(err.Error(), "pid changed") {
		t.Errorf("Since across a restart: err = %v, want a pid change", err)
	}
	after.PIDs["dockerd"] = 10
	after.Procs["dockerd"] = ProcCPU{Run: 6 * time.Second, Ticks: 10 * time.Millisecond}
	after.Self = 3 * time.Millisecond
	c, err := after.Since(before)
	if err != nil {
		t.Fatal(err)
	}
	if c.Wall != time.Second || c.Self != 3*time.Millisecond || c.Procs["dockerd"].Run != time.Second || c.Procs["dockerd"].Ticks != 10*time.Millisecond {
		t.Errorf("Since = %+v, want wall 1s, self 3ms, dockerd run 1s ticks 10ms", c)
	}
}

func TestLessIdleSubtractsTheIdleRateOverTheSameWallTime(t *testing.T) {
	idle := Cost{Wall: time.Second, Self: time.Millisecond, Procs: map[string]ProcCPU{
		"dockerd": {Run: 10 * time.Millisecond, Ticks: 10 * time.Millisecond}, "shim": {}}}
	loop := Cost{Wall: 2 * time.Second, Self: 12 * time.Millisecond, Procs: map[string]ProcCPU{
		"dockerd": {Run: 50 * time.Millisecond, Ticks: 60 * time.Millisecond, Children: 20 * time.Millisecond}, "shim": {Run: 4 * time.Millisecond}}}
	got := loop.LessIdle(idle)
	if got.Self != 10*time.Millisecond {
		t.Errorf("self = %v, want 12ms - 2 x 1ms = 10ms", got.Self)
	}
	if p := got.Procs["dockerd"]; p.Run != 30*time.Millisecond || p.Ticks != 40*time.Millisecond || p.Children != 20*time.Millisecond {
		t.Errorf("dockerd = %+v, want run 30ms, ticks 40ms, children 20ms", p)
	}
	if d := got.Daemons(); d != 54*time.Millisecond {
		t.Errorf("daemons = %v, want dockerd 30ms + its children 20ms + shim 4ms", d)
	}
	if same := loop.LessIdle(Cost{}); same.Self != loop.Self {
		t.Errorf("LessIdle with no idle window changed self to %v", same.Self)
	}
}

func TestPerSampleAndShareOfACore(t *testing.T) {
	if got := Per(50*time.Millisecond, 100); got != 500*time.Microsecond {
		t.Errorf("Per(50ms, 100) = %v", got)
	}
	if got := Per(time.Second, 0); got != 0 {
		t.Errorf("Per over no samples = %v, want 0", got)
	}
	// 1 ms a sample at 10 Hz is 10 ms a second: 1 % of a core.
	if got := PercentOfCore(time.Millisecond, 10); got < 0.999 || got > 1.001 {
		t.Errorf("PercentOfCore(1ms, 10 Hz) = %g, want 1", got)
	}
}

func TestChildrenCountsWaitedForChildren(t *testing.T) {
	// A shell that runs a busy child and waits for it: the child's CPU
	// lands in the shell's Children once it is reaped, not in its Run.
	cmd := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; sleep 30`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := Process(fs, cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.Children >= 50*time.Millisecond {
			t.Logf("parent shell: own %v, waited-for children %v", p.Run, p.Children)
			if p.Total() != p.Run+p.Children {
				t.Errorf("Total() = %v, want run + children", p.Total())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("children's cpu is %v after 30 s of a busy child", p.Children)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
