// Package cpucost measures what a loop of calls costs in CPU time, in the
// calling process and in the processes that serve the calls (the daemons a
// probe or an API request reaches), so that a probe's cost can be stated per
// sample and set beside the daemon APIs that report the same numbers. Wall
// time says little here: a sample spends most of its time waiting on a
// socket or a file read, and a daemon's share of the work never shows in
// the caller's clock.
package cpucost

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// Self returns the user and system CPU time this process has used.
func Self() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ProcCPU is the CPU time one process has used, read two ways.
type ProcCPU struct {
	// Run is the sum of its live threads' run time from
	// /proc/<pid>/task/*/schedstat, in nanoseconds: precise enough to
	// charge a single sample, but blind to threads that exited (Go daemons
	// keep their threads, so it rarely matters; Ticks is the check).
	Run time.Duration
	// Ticks is utime+stime from /proc/<pid>/stat: it keeps exited threads'
	// time, in clock ticks (10 ms), too coarse for one sample.
	Ticks time.Duration
	// Children is cutime+cstime from /proc/<pid>/stat: the CPU of child
	// processes it waited for, in clock ticks. A daemon that execs a helper
	// to answer a call (dockerd's /info runs `runc --version`) spends that
	// CPU on the caller's behalf too.
	Children time.Duration
}

// Total is the process' own run time and its children's.
func (p ProcCPU) Total() time.Duration { return p.Run + p.Children }

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 Hz on
// every Linux ABI (the kernel converts from its own HZ).
const clockTick = time.Second / 100

// Process reads the CPU time process pid has used.
func Process(fs procfs.FS, pid int) (ProcCPU, error) {
	if pid <= 0 {
		return ProcCPU{}, fmt.Errorf("cpu time of pid %d: no such process", pid)
	}
	proc, err := fs.Proc(pid)
	if err != nil {
		return ProcCPU{}, fmt.Errorf("cpu time of pid %d: %w", pid, err)
	}
	stat, err := proc.Stat()
	if err != nil {
		return ProcCPU{}, fmt.Errorf("cpu time of pid %d: %w", pid, err)
	}
	threads, err := fs.AllThreads(pid)
	if err != nil {
		return ProcCPU{}, fmt.Errorf("cpu time of pid %d: threads: %w", pid, err)
	}
	var run uint64
	for _, t := range threads {
		s, err := t.Schedstat()
		if err != nil {
			continue // a thread that exited between the listing and the read
		}
		run += s.RunningNanoseconds
	}
	return ProcCPU{
		Run:      time.Duration(run),
		Ticks:    time.Duration(stat.UTime+stat.STime) * clockTick,
		Children: time.Duration(stat.CUTime+stat.CSTime) * clockTick,
	}, nil
}

// Target is a process whose CPU a Meter charges, found by a pid function
// (a sandbox's PID, ContainerdPID, a shim lookup).
type Target struct {
	Name string
	PID  func() int
}

// Meter reads this process' CPU time and its targets' at one moment.
type Meter struct {
	fs      procfs.FS
	targets []Target
}

// NewMeter returns a meter over targets, whose names must be distinct.
func NewMeter(targets ...Target) (*Meter, error) {
	seen := map[string]bool{}
	for _, t := range targets {
		if t.Name == "" || t.PID == nil || seen[t.Name] {
			return nil, fmt.Errorf("cpu meter: target %q: want a distinct name and a pid function", t.Name)
		}
		seen[t.Name] = true
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("cpu meter: %w", err)
	}
	return &Meter{fs: fs, targets: targets}, nil
}

// Snapshot is what a Meter read at one moment.
type Snapshot struct {
	Wall  time.Time
	Self  time.Duration
	PIDs  map[string]int
	Procs map[string]ProcCPU
}

// Read takes a snapshot. A target that is down is an error: its CPU time
// over a window it restarted in cannot be known.
func (m *Meter) Read() (Snapshot, error) {
	s := Snapshot{Wall: time.Now(), PIDs: map[string]int{}, Procs: map[string]ProcCPU{}}
	for _, t := range m.targets {
		pid := t.PID()
		c, err := Process(m.fs, pid)
		if err != nil {
			return Snapshot{}, fmt.Errorf("cpu meter: %s: %w", t.Name, err)
		}
		s.PIDs[t.Name], s.Procs[t.Name] = pid, c
	}
	self, err := Self()
	if err != nil {
		return Snapshot{}, fmt.Errorf("cpu meter: %w", err)
	}
	s.Self = self
	return s, nil
}

// Cost is the CPU used between two snapshots.
type Cost struct {
	Wall  time.Duration
	Self  time.Duration
	Procs map[string]ProcCPU
}

// Since is the CPU used from earlier to s. A target whose pid changed in
// between (a restart) is an error, not a negative cost.
func (s Snapshot) Since(earlier Snapshot) (Cost, error) {
	c := Cost{Wall: s.Wall.Sub(earlier.Wall), Self: s.Self - earlier.Self, Procs: map[string]ProcCPU{}}
	var errs []error
	for name, now := range s.Procs {
		before, ok := earlier.Procs[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: not in the earlier snapshot", name))
			continue
		case s.PIDs[name] != earlier.PIDs[name]:
			errs = append(errs, fmt.Errorf("%s: pid changed from %d to %d", name, earlier.PIDs[name], s.PIDs[name]))
			continue
		}
		c.Procs[name] = ProcCPU{Run: now.Run - before.Run, Ticks: now.Ticks - before.Ticks, Children: now.Children - before.Children}
	}
	if err := errors.Join(errs...); err != nil {
		return Cost{}, fmt.Errorf("cpu cost: %w", err)
	}
	return c, nil
}

// LessIdle subtracts what the processes use anyway over c's wall time,
// at the rate idle measured with nothing being called: daemons have
// background work (timers, GC, housekeeping) that no caller should be
// charged for. The result may be slightly negative for a process a loop
// does not touch: that is the noise of the idle rate, kept visible.
func (c Cost) LessIdle(idle Cost) Cost {
	if idle.Wall <= 0 {
		return c
	}
	f := float64(c.Wall) / float64(idle.Wall)
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	out := Cost{Wall: c.Wall, Self: c.Self - scale(idle.Self), Procs: map[string]ProcCPU{}}
	for name, p := range c.Procs {
		i := idle.Procs[name]
		out.Procs[name] = ProcCPU{Run: p.Run - scale(i.Run), Ticks: p.Ticks - scale(i.Ticks), Children: p.Children - scale(i.Children)}
	}
	return out
}

// Daemons is the CPU of every target together, their children's included.
func (c Cost) Daemons() time.Duration {
	var d time.Duration
	for _, p := range c.Procs {
		d += p.Total()
	}
	return d
}

// Per divides a total over n samples.
func Per(total time.Duration, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return total / time.Duration(n)
}

// PercentOfCore is the share of one CPU core that spending perSample on
// every sample takes at hz samples a second.
func PercentOfCore(perSample time.Duration, hz float64) float64 {
	return perSample.Seconds() * hz * 100
}
