package containerdexecsyncdrainleak

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/workload"
)

// fakeExec answers ExecSync like the runtimes the incident meets: hold
// until the caller's deadline (a vulnerable drain), answer with an error
// (a drain timeout), or fail without an answer.
type fakeExec struct {
	answer   func(ctx context.Context, n int64) error
	n, peak  atomic.Int64
	inflight atomic.Int64
}

func (f *fakeExec) ExecSync(ctx context.Context, _ string, _ []string, _ time.Duration) (workload.ExecResult, error) {
	cur := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		p := f.peak.Load()
		if cur <= p || f.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	if err := f.answer(ctx, f.n.Add(1)); err != nil {
		return workload.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	return workload.ExecResult{}, nil
}

func TestProbeLoopClassifiesAndOverlaps(t *testing.T) {
	f := &fakeExec{answer: func(ctx context.Context, n int64) error {
		switch n % 4 {
		case 0:
			<-ctx.Done() // the drain that never ends
			return status.FromContextError(ctx.Err()).Err()
		case 1:
			return status.Error(codes.Unknown, "failed to drain exec process \"x\" io in 2s")
		case 2:
			return errors.New("connection refused")
		}
		return nil
	}}
	var ops probe.Ops
	res, err := ProbeLoop(context.Background(), f, "c", ProbeLoopOptions{
		Calls: 12, InFlight: 3, Command: command, Timeout: time.Second, Deadline: 1100 * time.Millisecond, Ops: &ops,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Calls) != 12 || ops.Load() != 12 {
		t.Fatalf("%d calls, %d ops; want 12 of each", len(res.Calls), ops.Load())
	}
	for class, want := range map[CallClass]int{CallOK: 3, CallDeadline: 3, CallRuntimeError: 3, CallTransportError: 3} {
		if got := res.Count(class); got != want {
			t.Errorf("%s: %d calls, want %d (errors %v)", class, got, want, res.Errors())
		}
	}
	if f.peak.Load() != 3 {
		t.Errorf("peak %d calls in flight, want 3", f.peak.Load())
	}
	if n := res.Errors()["failed to drain exec process \"x\" io in 2s"]; n != 3 {
		t.Errorf("runtime errors %v: want the runtime's own message", res.Errors())
	}
}

func TestProbeLoopStopsOnCancel(t *testing.T) {
	f := &fakeExec{answer: func(ctx context.Context, _ int64) error { <-ctx.Done(); return ctx.Err() }}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := ProbeLoop(ctx, f, "c", ProbeLoopOptions{Calls: 100, InFlight: 2, Command: command, Timeout: time.Second, Deadline: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v: want the cancellation, promptly", err, time.Since(start))
	}
	if res.Count(CallDeadline) != 0 || len(res.Calls) != 2 {
		t.Errorf("calls %+v: the two in flight end with the loop and are not the client deadline", res.Calls)
	}
}

// Enough ends the loop without an error: no new calls start, and those in
// flight finish as they would (they are the drain the settle watches).
func TestProbeLoopStopsStartingCallsOnEnough(t *testing.T) {
	enough := make(chan struct{})
	f := &fakeExec{answer: func(_ context.Context, n int64) error {
		if n == 5 {
			close(enough)
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	}}
	res, err := ProbeLoop(context.Background(), f, "c", ProbeLoopOptions{
		Calls: 100, InFlight: 2, Command: command, Timeout: time.Second, Deadline: time.Minute, Enough: enough,
	})
	if err != nil {
		t.Fatalf("err %v: enough is a normal end of the loop", err)
	}
	if n := len(res.Calls); n < 5 || n > 7 || res.Count(CallOK) != n {
		t.Errorf("%d calls (%d ok): want the 5 up to enough and at most those already in flight, all finished", n, res.Count(CallOK))
	}
}

func TestProbeLoopRejectsBadOptions(t *testing.T) {
	f := &fakeExec{answer: func(context.Context, int64) error { return nil }}
	for _, o := range []ProbeLoopOptions{
		{Calls: 0, InFlight: 1, Command: command, Timeout: time.Second, Deadline: 2 * time.Second},
		{Calls: 1, InFlight: 0, Command: command, Timeout: time.Second, Deadline: 2 * time.Second},
		{Calls: 1, InFlight: 1, Timeout: time.Second, Deadline: 2 * time.Second},
		{Calls: 1, InFlight: 1, Command: command, Timeout: time.Second, Deadline: time.Second},
	} {
		if _, err := ProbeLoop(context.Background(), f, "c", o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
