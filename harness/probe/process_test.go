package probe

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestProcessReadsOwnProcess(t *testing.T) {
	p, err := NewProcess("self", os.Getpid)
	if err != nil {
		t.Fatal(err)
	}
	before, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Sixteen files, and at least half of them seen: the Go runtime and
	// an earlier test's connections may close a few fds of this process
	// between the two reads.
	for range 16 {
		f, err := os.Open("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	after, _ := p.Collect(context.Background())
	runtime.KeepAlive(ballast)

	if got := after["self_fds"] - before["self_fds"]; got < 8 {
		t.Errorf("fds rose by %g after opening 16 files, want >= 8", got)
	}
	if got := after["self_rss_bytes"] - before["self_rss_bytes"]; got < 60<<20 {
		t.Errorf("rss rose by %g after touching 64 MiB, want >= 60 MiB", got)
	}
	if after["self_threads"] < 1 {
		t.Errorf("threads %g", after["self_threads"])
	}
}

func TestProcessDownIsMissingNotError(t *testing.T) {
	p, _ := NewProcess("gone", func() int { return 0 })
	v, err := p.Collect(context.Background())
	if err != nil || len(v) != 0 {
		t.Fatalf("pid 0: %v %v, want nothing", v, err)
	}
	p, _ = NewProcess("gone", func() int { return 1 << 30 })
	if v, err = p.Collect(context.Background()); err != nil || len(v) != 0 {
		t.Fatalf("dead pid: %v %v, want nothing", v, err)
	}
}

type fakeSource struct{ n float64 }

func (f *fakeSource) Describe() []Desc { return []Desc{{Name: "fake", Unit: "x"}} }
func (f *fakeSource) Collect(context.Context) (map[string]float64, error) {
	f.n++
	return map[string]float64{"fake": f.n, "unknown": 1}, nil
}

// waitSamples polls s until metric has at least n samples, or fails the
// test after within: a loaded machine delays the sampler's ticks, so a
// test waits for samples instead of expecting them in a fixed time.
func waitSamples(t *testing.T, s *Sampler, metric string, n int, within time.Duration) curve.Series {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		sr, err := s.Get(metric)
		if err != nil {
			t.Fatal(err)
		}
		if sr.Len() >= n {
			return sr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d samples of %s after %v, want >= %d", sr.Len(), metric, within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSamplerTagsOpsAndPhases(t *testing.T) {
	ops := &Ops{}
	s := NewSampler(10*time.Millisecond, ops, t.Logf, &fakeSource{})
	s.Start(context.Background())
	before := waitSamples(t, s, "fake", 3, 10*time.Second)
	s.Mark("stimulus")
	ops.Add(5)
	waitSamples(t, s, "fake", before.Len()+3, 10*time.Second)
	s.Stop()
	s.Stop() // idempotent

	sr, err := s.Get("fake")
	if err != nil {
		t.Fatal(err)
	}
	if last := sr.Points[sr.Len()-1]; last.Op != 5 {
		t.Fatalf("last sample op %g, want 5", last.Op)
	}
	if sr.Points[0].Op != 0 {
		t.Fatalf("first sample op %g, want 0", sr.Points[0].Op)
	}
	// The mark comes after the samples seen before it and before the
	// last sample taken after it.
	at, ok := sr.PhaseAt("stimulus")
	if lo, hi := before.Points[before.Len()-1].T, sr.Points[sr.Len()-1].T; !ok || at < lo || at > hi {
		t.Fatalf("stimulus phase at %g (%v), want between %g and %g", at, ok, lo, hi)
	}
	for i := 1; i < sr.Len(); i++ {
		if sr.Points[i].T < sr.Points[i-1].T {
			t.Fatalf("time went backwards at %d", i)
		}
	}
	if _, err := s.Get("unknown"); err == nil {
		t.Fatal("a metric the source did not describe must not become a series")
	}
}

// stuckSource answers only when its ctx ends, like a daemon socket that
// accepts connections during a hung startup and never replies.
type stuckSource struct{}

func (stuckSource) Describe() []Desc { return []Desc{{Name: "stuck", Unit: "x"}} }
func (stuckSource) Collect(ctx context.Context) (map[string]float64, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestSamplerIsNotHeldUpByAStuckSource(t *testing.T) {
	s := NewSampler(20*time.Millisecond, nil, nil, stuckSource{}, &fakeSource{})
	s.Start(context.Background())
	defer s.Stop()
	// 15 samples take 0.3 s at 20 ms; a sampler that waited for the stuck
	// source's 250 ms deadline before each healthy read would need 3.75 s.
	// 2 s leaves a loaded machine room and still tells the two apart.
	waitSamples(t, s, "fake", 15, 2*time.Second)
	s.Stop()
	if stuck, _ := s.Get("stuck"); stuck.Len() != 0 {
		t.Fatalf("stuck source produced %d samples", stuck.Len())
	}
}
