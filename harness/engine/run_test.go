package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/wait"
)

// selfSandbox stands in for a daemon: its PID is the test process, so the
// engine's process probe measures what the drive does to this process. It
// tests the engine's wiring, not a runtime (the suites do that).
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

// funcCase is a Case whose attempt is one drive function.
type funcCase func(ctx context.Context, env *incident.Env) error

func (f funcCase) Start(_ context.Context, env *incident.Env) (incident.Attempt, error) {
	return &funcAttempt{drive: f, env: env}, nil
}

type funcAttempt struct {
	drive funcCase
	env   *incident.Env
}

func (a *funcAttempt) Probes() []probe.Source          { return nil }
func (a *funcAttempt) Drive(ctx context.Context) error { return a.drive(ctx, a.env) }

func newStore(t *testing.T) *results.Store {
	t.Helper()
	store, err := results.Open(t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func newEngine(t *testing.T, sb func() *selfSandbox) (*Engine, *results.Store) {
	t.Helper()
	store := newStore(t)
	return New(Deps{
		Store:     store,
		Sandboxes: func(Item, func(string, ...any)) (runtime.Sandbox, error) { return sb(), nil },
		Images: func(context.Context, runtime.Sandbox, []incident.Image) (map[incident.Image]string, error) {
			return nil, nil
		},
		Logf: t.Logf,
		Diagnostics: func(_ context.Context, _ runtime.Sandbox, dir string) ([]string, error) {
			f := filepath.Join(dir, "dump.txt")
			return []string{f}, os.WriteFile(f, []byte("goroutine 1"), 0o644)
		},
	}), store
}

var rssSlope = []curve.Budget{{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: 4 << 20, Warmup: 0.2}}

func item(t *testing.T, v incident.Variant) Item {
	t.Helper()
	in := incident.Incident{ID: "self", Runtime: runtime.Containerd, NotJudged: "a test", Variants: []incident.Variant{v}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	return Item{Incident: in, Variant: v, Runtime: runtime.Containerd, Expect: v.Expect, Why: v.Why}
}

// leak grows this process' RSS ~25 MiB/s for at most 30 s, six times the
// 4 MiB/s budget, and ends with wrap(ctx.Err()) when cancelled. The
// default rules (RulesV3) decide nothing before the fitted window holds 6
// blocks of 2 s, so a breach stops it after 12-13 s, with ~300 MiB kept.
func leak(wrap func(error) error) funcCase {
	return func(ctx context.Context, env *incident.Env) error {
		var ballast [][]byte
		defer func() { ballast = nil; debug.FreeOSMemory() }()
		for i := 0; i < 750; i++ {
			select {
			case <-ctx.Done():
				return wrap(ctx.Err())
			case <-time.After(40 * time.Millisecond):
			}
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			ballast = append(ballast, b)
			env.Ops.Add(1)
		}
		return nil
	}
}

func TestRunStopsEarlyOnCertainBreach(t *testing.T) {
	sb := &selfSandbox{root: t.TempDir()}
	eng, _ := newEngine(t, func() *selfSandbox { return sb })
	deferred := false
	drive := leak(func(err error) error { return err })
	v := incident.Variant{Name: "leaky", Expect: curve.Breach, Budgets: rssSlope, Interval: 20 * time.Millisecond,
		Case: funcCase(func(ctx context.Context, env *incident.Env) error {
			env.Defer(func(context.Context) error { deferred = true; return nil })
			return drive(ctx, env)
		})}
	res, err := eng.Run(context.Background(), item(t, v))
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != string(curve.Breach) || !res.OK {
		t.Fatalf("verdict %s ok=%v, want a breach that is ok: %+v", res.Verdict, res.OK, res.Evaluations)
	}
	if !res.StoppedEarly || res.VerdictAfterS > 20 {
		t.Fatalf("stopped early %v after %.1fs, want an early stop well before the 30 s drive ends", res.StoppedEarly, res.VerdictAfterS)
	}
	if res.Slope < 12<<20 {
		t.Fatalf("slope %g B/s, want the ~25 MiB/s the drive allocated", res.Slope)
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

// grpcCanceled is how a gRPC client reports a call cut by its context: an
// error that is not context.Canceled for errors.Is.
type grpcCanceled struct{ msg string }

func (e grpcCanceled) Error() string { return "rpc error: code = Canceled desc = " + e.msg }

// countingLeak keeps 2 widgets per op on a counter of its own (an op every
// 50 ms, for at most 30 s) and ends with wrap(ctx.Err()) when cancelled.
type countingLeak struct{ wrap func(error) error }

func (c countingLeak) Start(_ context.Context, env *incident.Env) (incident.Attempt, error) {
	return &countingLeakRun{countingLeak: c, env: env}, nil
}

type countingLeakRun struct {
	countingLeak
	env *incident.Env
}

func (r *countingLeakRun) Probes() []probe.Source {
	return []probe.Source{&widgets{ops: r.env.Ops, leak: 2}}
}

func (r *countingLeakRun) Drive(ctx context.Context) error {
	for range 600 {
		if err := wait.Sleep(ctx, 50*time.Millisecond); err != nil {
			return r.wrap(err)
		}
		r.env.Ops.Add(1)
	}
	return nil
}

// A breach called while the drive sits in a client call is a reproduced
// incident, however the client wraps the cancellation.
func TestRunEarlyBreachIsNotAFailureWhateverTheClientReturns(t *testing.T) {
	t.Parallel() // judged on its own counter, not on this process' RSS
	eng, _ := newEngine(t, func() *selfSandbox { return &selfSandbox{root: t.TempDir()} })
	widgetSlope := []curve.Budget{{Metric: "widgets", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5}}
	v := incident.Variant{Name: "leaky-cri", Expect: curve.Breach, Budgets: widgetSlope, Interval: 50 * time.Millisecond,
		Case: countingLeak{wrap: func(err error) error { return grpcCanceled{msg: fmt.Sprint(err)} }}}
	res, err := eng.Run(context.Background(), item(t, v))
	if err != nil || !res.OK || !res.StoppedEarly {
		t.Fatalf("err %v ok %v early %v: an early breach during a client call must be an ok breach", err, res.OK, res.StoppedEarly)
	}
	if errors.Is(grpcCanceled{}, context.Canceled) {
		t.Fatal("the stand-in must not be context.Canceled, or this test proves nothing")
	}
}

// A quiet drive holds. Under the default rules (RulesV3) a hold is
// certain once its interval lies under the budget, and the run stops
// there, as it does on a certain breach: the drive (at most 30 s) ends
// after the 12-13 s the blocks need. RulesV1 had no certain hold and ran
// every hold to its end.
func TestRunHoldsAndCleansUpOnFailure(t *testing.T) {
	sb := &selfSandbox{root: t.TempDir()}
	eng, store := newEngine(t, func() *selfSandbox { return sb })
	quiet := incident.Variant{Name: "quiet", Expect: curve.Hold, Budgets: rssSlope, Interval: 20 * time.Millisecond,
		Case: funcCase(func(ctx context.Context, env *incident.Env) error {
			for i := 0; i < 3000; i++ {
				if err := wait.Sleep(ctx, 10*time.Millisecond); err != nil {
					return err
				}
				env.Ops.Add(1)
			}
			return nil
		})}
	res, err := eng.Run(context.Background(), item(t, quiet))
	if err != nil || res.Verdict != string(curve.Hold) || !res.OK || !res.StoppedEarly || res.VerdictAfterS > 20 {
		t.Fatalf("quiet drive: err %v verdict %s ok %v early %v after %.1fs, want a certain hold that stops the drive well before its 30 s", err, res.Verdict, res.OK, res.StoppedEarly, res.VerdictAfterS)
	}
	if len(res.Diagnostics) != 0 {
		t.Fatalf("a hold captured diagnostics %v", res.Diagnostics)
	}

	failing := quiet
	failing.Name = "failing"
	failing.Case = funcCase(func(context.Context, *incident.Env) error { return errors.New("workload would not start") })
	sb = &selfSandbox{root: t.TempDir()}
	res, err = eng.Run(context.Background(), item(t, failing))
	if err == nil || !strings.Contains(err.Error(), "workload would not start") {
		t.Fatalf("err %v, want the drive's error", err)
	}
	if res.OK || !strings.Contains(res.Error, "workload would not start") || !sb.closed {
		t.Fatalf("failed run: ok %v error %q closed %v; want not ok, the error recorded, the sandbox closed", res.OK, res.Error, sb.closed)
	}
	if got := store.Run().Results; len(got) != 2 {
		t.Fatalf("recorded %d results, want both runs recorded once", len(got))
	}

	sb = &selfSandbox{root: t.TempDir(), startErr: errors.New("binary not found")}
	if _, err = eng.Run(context.Background(), item(t, quiet)); err == nil || !sb.closed {
		t.Fatalf("start failure: err %v closed %v; want an error and a closed sandbox", err, sb.closed)
	}
}
