package scenario

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// selfSandbox stands in for a daemon: its PID is the test process, so the
// runner's process probe measures what the stimulus does to this process.
// It tests the runner's wiring, not a runtime (suites do that).
type selfSandbox struct {
	root            string
	started, closed bool
	startErr        error
}

func (s *selfSandbox) Kind() runtime.Kind            { return runtime.Containerd }
func (s *selfSandbox) Version() string               { return "0.0.0-self" }
func (s *selfSandbox) Binary() string                { return os.Args[0] }
func (s *selfSandbox) Address() string               { return "" }
func (s *selfSandbox) PID() int                      { return os.Getpid() }
func (s *selfSandbox) Root() string                  { return s.root }
func (s *selfSandbox) LogPath() string               { return "" }
func (s *selfSandbox) Start(context.Context) error   { s.started = true; return s.startErr }
func (s *selfSandbox) Stop(context.Context) error    { return nil }
func (s *selfSandbox) Crash() error                  { return nil }
func (s *selfSandbox) Restart(context.Context) error { return nil }
func (s *selfSandbox) Guard() runtime.GuardReport    { return runtime.GuardReport{} }
func (s *selfSandbox) Close(context.Context) error   { s.closed = true; return nil }
func (s *selfSandbox) Settings() map[string]any      { return map[string]any{"knob": 1} }

func newRunner(t *testing.T, sb *selfSandbox) *Runner {
	t.Helper()
	w, err := report.NewWriter(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &Runner{
		Results: w,
		Sandboxes: func(runtime.Kind, SandboxSpec, bool, func(string, ...any)) (runtime.Sandbox, error) {
			return sb, nil
		},
		Images: func(context.Context, runtime.Sandbox, []string) (map[string]string, error) { return nil, nil },
		Logf:   t.Logf,
		Diagnostics: func(_ context.Context, _ runtime.Sandbox, dir string) ([]string, error) {
			f := filepath.Join(dir, "dump.txt")
			return []string{f}, os.WriteFile(f, []byte("goroutine 1"), 0o644)
		},
	}
}

var rssSlope = []curve.Budget{{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 4 << 20, Warmup: 0.2}}

func TestRunStopsEarlyOnCertainBreach(t *testing.T) {
	sb := &selfSandbox{root: t.TempDir()}
	r := newRunner(t, sb)
	var ballast [][]byte
	deferred := false
	v := Variant{
		Name: "leaky", Expect: curve.Breach, Budgets: rssSlope, Interval: 20 * time.Millisecond,
		Stimulus: func(ctx context.Context, e *Env) error {
			e.Defer(func(context.Context) error { deferred = true; return nil })
			// Grow RSS ~100 MiB/s for at most 20 s: far above the 4 MiB/s budget.
			for i := 0; i < 2000; i++ {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
				b := make([]byte, 1<<20)
				for j := range b {
					b[j] = 1
				}
				ballast = append(ballast, b)
				e.Ops.Add(1)
			}
			return nil
		},
	}
	s := Scenario{ID: "self-leak", Runtime: runtime.Containerd, Variants: []Variant{v}}
	res, err := r.Run(context.Background(), s, v)
	ballast = nil
	debug.FreeOSMemory()
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != string(curve.Breach) || !res.OK {
		t.Fatalf("verdict %s ok=%v, want a breach that is ok: %+v", res.Verdict, res.OK, res.Evaluations)
	}
	if !res.StoppedEarly || res.VerdictAfterS > 10 {
		t.Fatalf("stopped early %v after %.1fs, want an early stop well before the 20 s stimulus ends", res.StoppedEarly, res.VerdictAfterS)
	}
	if res.Slope < 20<<20 {
		t.Fatalf("slope %g B/s, want the ~100 MiB/s the stimulus allocated", res.Slope)
	}
	if len(res.Diagnostics) != 1 || !strings.HasSuffix(res.Diagnostics[0], "diagnostics/dump.txt") {
		t.Fatalf("diagnostics %v, want the breach's dump", res.Diagnostics)
	}
	if !sb.closed || !deferred {
		t.Fatalf("sandbox closed %v, deferred cleanup ran %v: both must run", sb.closed, deferred)
	}
	if res.Config["knob"] != 1 {
		t.Fatalf("config %v, want the sandbox settings", res.Config)
	}
}

func TestRunHoldsAndCleansUpOnFailure(t *testing.T) {
	sb := &selfSandbox{root: t.TempDir()}
	r := newRunner(t, sb)
	quiet := Variant{
		Name: "quiet", Expect: curve.Hold, Budgets: rssSlope, Interval: 20 * time.Millisecond,
		Stimulus: func(ctx context.Context, e *Env) error {
			for i := 0; i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
				e.Ops.Add(1)
			}
			return nil
		},
	}
	s := Scenario{ID: "self-quiet", Runtime: runtime.Containerd, Variants: []Variant{quiet}}
	res, err := r.Run(context.Background(), s, quiet)
	if err != nil || res.Verdict != string(curve.Hold) || !res.OK || res.StoppedEarly {
		t.Fatalf("quiet stimulus: err %v verdict %s ok %v early %v, want a hold", err, res.Verdict, res.OK, res.StoppedEarly)
	}
	if len(res.Diagnostics) != 0 {
		t.Fatalf("a hold captured diagnostics %v", res.Diagnostics)
	}

	failing := quiet
	failing.Name = "failing"
	failing.Stimulus = func(ctx context.Context, e *Env) error { return errors.New("workload would not start") }
	sb2 := &selfSandbox{root: t.TempDir()}
	r.Sandboxes = func(runtime.Kind, SandboxSpec, bool, func(string, ...any)) (runtime.Sandbox, error) { return sb2, nil }
	res, err = r.Run(context.Background(), s, failing)
	if err == nil || !strings.Contains(err.Error(), "workload would not start") {
		t.Fatalf("err %v, want the stimulus' error", err)
	}
	if res.OK || !strings.Contains(res.Error, "workload would not start") || !sb2.closed {
		t.Fatalf("failed run: ok %v error %q closed %v; want not ok, the error recorded, the sandbox closed", res.OK, res.Error, sb2.closed)
	}

	sb3 := &selfSandbox{root: t.TempDir(), startErr: errors.New("binary not found")}
	r.Sandboxes = func(runtime.Kind, SandboxSpec, bool, func(string, ...any)) (runtime.Sandbox, error) { return sb3, nil }
	if _, err = r.Run(context.Background(), s, quiet); err == nil || !sb3.closed {
		t.Fatalf("start failure: err %v closed %v; want an error and a closed sandbox", err, sb3.closed)
	}
}
