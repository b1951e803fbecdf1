package probe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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

// A Paced source is read at most once per its Every while the others are
// read at every interval.
func TestSamplerPacesAPacedSource(t *testing.T) {
	slow := &fakeSource{}
	s := NewSampler(10*time.Millisecond, nil, t.Logf, &namedSource{name: "fast"}, Paced{Source: slow, Every: 80 * time.Millisecond})
	s.Start(context.Background())
	waitSamples(t, s, "fast", 40, 20*time.Second)
	s.Stop()
	fast, _ := s.Get("fast")
	paced, _ := s.Get("fake")
	// 8x fewer reads at this pace; a loaded machine delays ticks of both.
	if paced.Len() < 2 || paced.Len() > fast.Len()/3 {
		t.Fatalf("%d reads of the paced source against %d of the other, want about 8x fewer", paced.Len(), fast.Len())
	}
}

type namedSource struct{ name string }

func (n *namedSource) Describe() []Desc { return []Desc{{Name: n.name, Unit: "x"}} }
func (n *namedSource) Collect(context.Context) (map[string]float64, error) {
	return map[string]float64{n.name: 1}, nil
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

// fakeProcRoot is a procfs stand-in whose <pid> entries are symlinks to
// real /proc/<pid> directories, so a test can give one PID number to one
// real process and then another, as PID reuse does.
type fakeProcRoot struct {
	t    *testing.T
	root string
}

func newFakeProcRoot(t *testing.T) fakeProcRoot {
	t.Helper()
	root := t.TempDir()
	if err := os.Symlink("/proc/self", filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	return fakeProcRoot{t: t, root: root}
}

// point makes <root>/<pid> the real process real.
func (f fakeProcRoot) point(pid, real int) {
	f.t.Helper()
	link := filepath.Join(f.root, strconv.Itoa(pid))
	_ = os.Remove(link)
	if err := os.Symlink(filepath.Join("/proc", strconv.Itoa(real)), link); err != nil {
		f.t.Fatal(err)
	}
}

// startWithFiles starts a sleeper given n more files than a plain one, and
// returns how many fds it holds once settled. That is not 3+n: the files
// land on fds 3..n+2, over whatever fds the test inherited there (flock's
// lock fd under make test), and the inherited ones above stay open.
func startWithFiles(t *testing.T, n int) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	for range n {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// sleep opens and closes files of its own as it starts (its locale):
	// wait until it sleeps and its fd count has stopped moving.
	dir := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "fd")
	last, same := -1, 0
	for start := time.Now(); same < 3; time.Sleep(20 * time.Millisecond) {
		fds, err := os.ReadDir(dir)
		tk, terr := ReadTask(cmd.Process.Pid)
		switch {
		case err != nil || terr != nil || tk.State != "S":
			same = 0
		case len(fds) == last:
			same++
		default:
			last, same = len(fds), 1
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("sleep never settled: %d fds, %v %v", len(fds), err, terr)
		}
	}
	return cmd, last
}

// The source holds the process its pid named: it asks pid once while
// that process lives, and when the process exits and its PID number now
// belongs to another process, it reads the new one, not nothing and not
// the old one's last values.
func TestProcessFollowsAReusedPID(t *testing.T) {
	fake := newFakeProcRoot(t)
	const pid = 4242
	first, firstFDs := startWithFiles(t, 0)
	second, secondFDs := startWithFiles(t, 12)
	if firstFDs == secondFDs {
		t.Fatalf("test setup: both sleepers hold %d fds; the second must hold more", firstFDs)
	}
	fake.point(pid, first.Process.Pid)
	asked := 0
	p, err := newProcessAt(fake.root, "d", func() int { asked++; return pid })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	collect := func() map[string]float64 {
		t.Helper()
		v, err := p.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := collect()
	for range 5 {
		collect()
	}
	if asked != 1 {
		t.Errorf("pid asked %d times over 6 samples of a live process, want once", asked)
	}
	_ = first.Process.Kill()
	_ = first.Wait()
	fake.point(pid, second.Process.Pid)
	after := collect()
	if before["d_fds"] != float64(firstFDs) || after["d_fds"] != float64(secondFDs) {
		t.Errorf("fds %v before the PID was reused, %v after: want the first process' %d, then the second's %d",
			before["d_fds"], after["d_fds"], firstFDs, secondFDs)
	}
	if asked != 2 {
		t.Errorf("pid asked %d times, want once more after the process exited", asked)
	}
}

// A process that has exited and not been reaped yet is no sample: its stat
// still reads, with no memory and one thread.
func TestProcessZombieIsMissing(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		if tk, err := ReadTask(pid); err == nil && tk.State == "Z" {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("sh never became a zombie")
		}
	}
	p, err := NewProcess("z", func() int { return pid })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v, err := p.Collect(context.Background()); err != nil || len(v) != 0 {
		t.Fatalf("zombie: %v, %v; want no values and no error", v, err)
	}
}

// What a source holds between samples is this process' own fds, and
// CloseSources gives them back.
func TestCloseSourcesReleasesHeldFiles(t *testing.T) {
	open := func() int {
		t.Helper()
		d, err := openKeptDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		defer d.close()
		n, err := d.count()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	p, err := NewProcess("self", os.Getpid)
	if err != nil {
		t.Fatal(err)
	}
	base := open()
	if _, err := p.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if held := open() - base; held != 2 {
		t.Errorf("a process source holds %d fds, want 2 (stat and the fd directory)", held)
	}
	if err := CloseSources([]Source{&fakeSource{}, p}); err != nil {
		t.Fatal(err)
	}
	if left := open() - base; left != 0 {
		t.Errorf("%d fds still held after CloseSources", left)
	}
	// Read again after closing, it opens them again.
	if v, err := p.Collect(context.Background()); err != nil || len(v) != 3 {
		t.Fatalf("Collect after Close = %v, %v", v, err)
	}
	_ = p.Close()
}

func TestParseProcStat(t *testing.T) {
	// comm with a space and a parenthesis, as a process may name itself.
	line := "1234 (a) b) S 1 1234 1234 0 -1 4194560 500 0 0 0 10 5 0 0 20 0 17 0 100 2000000000 12345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.threads != 17 || st.rssPages != 12345 {
		t.Errorf("parsed %+v, want state S, 17 threads, 12345 pages", st)
	}
	if statFlags([]byte(line)) != 4194560 {
		t.Errorf("flags %d, want 4194560", statFlags([]byte(line)))
	}
	for _, bad := range []string{"", "1234 (x", "1234 (x) S 1 2", "1234 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 many 0 0 0 0"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}
