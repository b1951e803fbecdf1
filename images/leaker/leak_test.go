package main

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd here: %v", err)
	}
	return len(ents) - 1 // the directory ReadDir itself held open
}

// settledGoroutines waits for goroutines that are ending (earlier tests'
// sleepers) to finish, and returns the count.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return m
		}
		n = m
	}
	return n
}

func TestDueSumsToTheRate(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 16384, 8192.5} {
		total := 0
		for n := 1; n <= 400; n++ {
			d := due(n, rate)
			if d < 0 {
				t.Fatalf("rate %g op %d: %d", rate, n, d)
			}
			total += d
			// floor(n x rate), computed independently.
			want := int(float64(n)*rate + 1e-9)
			if total != want {
				t.Fatalf("rate %g: %d after %d ops, want %d", rate, total, n, want)
			}
		}
	}
	if due(20, 0.05) != 1 || due(19, 0.05) != 0 {
		t.Errorf("rate 0.05: want the one goroutine on op 20 exactly")
	}
}

// Every op keeps exactly its due goroutines, fds and bytes: counted by the
// runtime and by the kernel, not only by the leaker's ledger.
func TestOpLeaksExactlyPerOp(t *testing.T) {
	l := newLeaker(config{goroutines: 2, fds: 1, bytes: 10000, plateauMax: 1, stepAt: 1})
	defer l.close()
	g0, f0 := settledGoroutines(), openFDs(t)
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 1; i <= 10; i++ {
		if _, err := l.op(); err != nil {
			t.Fatal(err)
		}
		if d := runtime.NumGoroutine() - g0; d != 2*i {
			t.Fatalf("after %d ops: %+d goroutines, want %+d", i, d, 2*i)
		}
		if d := openFDs(t) - f0; d != i {
			t.Fatalf("after %d ops: %+d fds, want %+d", i, d, i)
		}
	}
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew < 10*10000 {
		t.Errorf("heap grew %d bytes over 10 ops, want at least %d kept", grew, 10*10000)
	}
	if s := l.stats(); s.Goroutines != 20 || s.FDs != 10 || s.Bytes != 100000 || s.Ops != 10 {
		t.Errorf("ledger %+v, want 20 goroutines, 10 fds, 100000 bytes after 10 ops", s)
	}
	l.close()
	time.Sleep(50 * time.Millisecond)
	if d := settledGoroutines() - g0; d != 0 {
		t.Errorf("close left %+d goroutines", d)
	}
	if d := openFDs(t) - f0; d != 0 {
		t.Errorf("close left %+d fds", d)
	}
}

// A fractional rate keeps one unit every 1/rate ops, on the op that makes
// the running total whole.
func TestFractionalRate(t *testing.T) {
	l := newLeaker(config{goroutines: 0.25, fds: 0.5, plateauMax: 1, stepAt: 1})
	defer l.close()
	g0, f0 := settledGoroutines(), openFDs(t)
	for i := 1; i <= 8; i++ {
		if _, err := l.op(); err != nil {
			t.Fatal(err)
		}
		if d := runtime.NumGoroutine() - g0; d != i/4 {
			t.Fatalf("after %d ops: %+d goroutines, want %+d", i, d, i/4)
		}
		if d := openFDs(t) - f0; d != i/2 {
			t.Fatalf("after %d ops: %+d fds, want %+d", i, d, i/2)
		}
	}
}

// k = 0 is the null case: many ops, nothing kept.
func TestNullIsFlat(t *testing.T) {
	l := newLeaker(config{plateauMax: 1, stepAt: 1})
	defer l.close()
	g0, f0 := settledGoroutines(), openFDs(t)
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for range 500 {
		if _, err := l.op(); err != nil {
			t.Fatal(err)
		}
	}
	if d := runtime.NumGoroutine() - g0; d != 0 {
		t.Errorf("null: %+d goroutines after 500 ops", d)
	}
	if d := openFDs(t) - f0; d != 0 {
		t.Errorf("null: %+d fds after 500 ops", d)
	}
	var m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > 64<<10 {
		t.Errorf("null: live heap grew %d bytes over 500 ops", grew)
	}
}

// The step is taken once, on its op, and is not counted as a leak.
func TestStepOnce(t *testing.T) {
	l := newLeaker(config{noise: noiseSet{step: true}, plateauMax: 1, stepAt: 3, stepGoroutines: 4, stepFDs: 2})
	defer l.close()
	g0, f0 := settledGoroutines(), openFDs(t)
	want := []int{0, 0, 4, 4, 4}
	for i, w := range want {
		if _, err := l.op(); err != nil {
			t.Fatal(err)
		}
		if d := runtime.NumGoroutine() - g0; d != w {
			t.Fatalf("after op %d: %+d goroutines, want %+d", i+1, d, w)
		}
		if d := openFDs(t) - f0; d != w/2 {
			t.Fatalf("after op %d: %+d fds, want %+d", i+1, d, w/2)
		}
	}
	if s := l.stats(); !s.Stepped || s.Goroutines != 0 {
		t.Errorf("stats %+v: want stepped, no goroutine leaked", s)
	}
}

// The plateau: in-flight calls rise to their bound under a burst of ops
// and drain when the ops stop, leaving nothing.
func TestPlateauDrains(t *testing.T) {
	l := newLeaker(config{noise: noiseSet{plateau: true}, plateauMax: 5, plateauHold: 100 * time.Millisecond, stepAt: 1, seed: 1})
	defer l.close()
	g0, f0 := settledGoroutines(), openFDs(t)
	for range 20 {
		if _, err := l.op(); err != nil {
			t.Fatal(err)
		}
	}
	s := l.stats()
	if s.InFlight != 5 || s.InFlightPeak != 5 {
		t.Errorf("after a burst: %d in flight, peak %d; want the bound, 5", s.InFlight, s.InFlightPeak)
	}
	if d := runtime.NumGoroutine() - g0; d != 5 {
		t.Errorf("after a burst: %+d goroutines, want the 5 in flight", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && (l.stats().InFlight > 0 || runtime.NumGoroutine() > g0 || openFDs(t) > f0) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := l.stats(); s.InFlight != 0 {
		t.Errorf("%d still in flight 2s after the burst", s.InFlight)
	}
	if d := runtime.NumGoroutine() - g0; d != 0 {
		t.Errorf("%+d goroutines 2s after the burst, want none", d)
	}
	if d := openFDs(t) - f0; d != 0 {
		t.Errorf("%+d fds 2s after the burst, want none", d)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-goroutines", "0.05", "-noise", "gc,step", "-step-at", "60"})
	if err != nil {
		t.Fatal(err)
	}
	if c.goroutines != 0.05 || !c.noise.gc || !c.noise.step || c.noise.plateau || c.stepAt != 60 {
		t.Errorf("config %+v", c)
	}
	for _, bad := range [][]string{{"-noise", "gc,nope"}, {"-fds", "-1"}, {"-step-at", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if c, _ := parseFlags([]string{"-noise", "all"}); c.noise != (noiseSet{true, true, true, true}) {
		t.Errorf("all: %+v", c.noise)
	}
}
