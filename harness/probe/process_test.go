package probe

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
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
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	after, _ := p.Collect(context.Background())
	runtime.KeepAlive(ballast)

	if got := after["self_fds"] - before["self_fds"]; got < 1 {
		t.Errorf("fds rose by %g after opening a file, want >= 1", got)
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

func TestSamplerTagsOpsAndPhases(t *testing.T) {
	ops := &Ops{}
	s := NewSampler(10*time.Millisecond, ops, t.Logf, &fakeSource{})
	s.Start(context.Background())
	time.Sleep(50 * time.Millisecond)
	s.Mark("stimulus")
	ops.Add(5)
	time.Sleep(50 * time.Millisecond)
	s.Stop()
	s.Stop() // idempotent

	sr, err := s.Get("fake")
	if err != nil {
		t.Fatal(err)
	}
	if sr.Len() < 6 {
		t.Fatalf("%d samples in 100ms at 10ms, want >= 6", sr.Len())
	}
	if last := sr.Points[sr.Len()-1]; last.Op != 5 {
		t.Fatalf("last sample op %g, want 5", last.Op)
	}
	if sr.Points[0].Op != 0 {
		t.Fatalf("first sample op %g, want 0", sr.Points[0].Op)
	}
	at, ok := sr.PhaseAt("stimulus")
	if !ok || at < 0.04 || at > 0.09 {
		t.Fatalf("stimulus phase at %g (%v), want ~0.05s", at, ok)
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
	time.Sleep(500 * time.Millisecond)
	s.Stop()
	fake, _ := s.Get("fake")
	if fake.Len() < 15 {
		t.Fatalf("%d samples of a healthy source in 500ms at 20ms beside a stuck one, want >= 15", fake.Len())
	}
	if stuck, _ := s.Get("stuck"); stuck.Len() != 0 {
		t.Fatalf("stuck source produced %d samples", stuck.Len())
	}
}
