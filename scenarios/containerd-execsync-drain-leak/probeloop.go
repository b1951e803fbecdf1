package containerdexecsyncdrainleak

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/workload"
)

// ProbeLoopOptions shapes the kubelet-like exec probe loop.
type ProbeLoopOptions struct {
	// Calls is how many ExecSync calls to make in all; it must be positive.
	Calls int
	// InFlight is how many calls run at once, as a node with several
	// exec-probed containers has; at least 1.
	InFlight int
	// Command is the probe's command.
	Command []string
	// Timeout is the probe's timeoutSeconds, passed in the request: the
	// runtime ends the command after it. Whole seconds, at least 1.
	Timeout time.Duration
	// Deadline is the client's deadline for each call, after which the
	// caller gives up on it while the runtime may still be working on it
	// (kubelet's is the timeout plus its runtime request timeout). It must
	// be longer than Timeout.
	Deadline time.Duration
	// Ops, if set, counts each finished call (whatever its outcome).
	Ops *probe.Ops
	// Enough, once closed, stops the loop starting calls; those in flight
	// finish (incident.Env.Enough). Nil never stops it.
	Enough <-chan struct{}
}

// CallClass sorts an ExecSync call's outcome.
type CallClass string

const (
	// CallOK is a call the runtime answered with the command's exit code.
	CallOK CallClass = "ok"
	// CallDeadline is a call the client abandoned at its deadline, still
	// in flight inside the runtime: the shape that leaks.
	CallDeadline CallClass = "deadline"
	// CallRuntimeError is a call the runtime answered with an error, e.g.
	// a drain timeout ("failed to drain exec process ... io").
	CallRuntimeError CallClass = "runtime-error"
	// CallTransportError is a call that got no answer for another reason
	// (daemon gone, socket closed).
	CallTransportError CallClass = "transport-error"
)

// Call is one ExecSync call's outcome.
type Call struct {
	Duration time.Duration `json:"duration"`
	Class    CallClass     `json:"class"`
	Err      string        `json:"err,omitempty"`
}

// ProbeLoopResult is every finished call's outcome, in the order they
// finished.
type ProbeLoopResult struct {
	Calls []Call `json:"calls"`
}

// Count returns how many calls ended in class.
func (r ProbeLoopResult) Count(class CallClass) int {
	n := 0
	for _, c := range r.Calls {
		if c.Class == class {
			n++
		}
	}
	return n
}

// Errors returns each distinct error text with how often it occurred.
func (r ProbeLoopResult) Errors() map[string]int {
	out := map[string]int{}
	for _, c := range r.Calls {
		if c.Err != "" {
			out[c.Err]++
		}
	}
	return out
}

// execer is the one CRI call the loop makes (workload.CRI in a run, a fake
// in a test).
type execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (workload.ExecResult, error)
}

// ProbeLoop calls ExecSync on containerID the way kubelet runs exec probes:
// opts.InFlight callers at once, each call with the probe's timeout in the
// request and the client's own deadline around it, the next call as soon
// as one ends. A failed call is recorded, not fatal: failing is what these
// calls do when the runtime waits on stdio a background child holds.
//
// It returns the outcomes of the calls finished; when ctx ends first the
// result holds those and the error wraps ctx.Err().
func ProbeLoop(ctx context.Context, c execer, containerID string, opts ProbeLoopOptions) (ProbeLoopResult, error) {
	switch {
	case c == nil || containerID == "":
		return ProbeLoopResult{}, errors.New("exec probe loop: need a CRI client and a container id")
	case opts.Calls <= 0 || opts.InFlight <= 0:
		return ProbeLoopResult{}, fmt.Errorf("exec probe loop: %d calls, %d in flight: want at least 1 of each", opts.Calls, opts.InFlight)
	case len(opts.Command) == 0:
		return ProbeLoopResult{}, errors.New("exec probe loop: empty command")
	case opts.Timeout < time.Second || opts.Deadline <= opts.Timeout:
		return ProbeLoopResult{}, fmt.Errorf("exec probe loop: timeout %v, deadline %v: want a timeout of at least 1s and a longer deadline", opts.Timeout, opts.Deadline)
	}
	var (
		mu   sync.Mutex
		res  = ProbeLoopResult{Calls: make([]Call, 0, opts.Calls)}
		next = make(chan struct{})
		wg   sync.WaitGroup
	)
	for range opts.InFlight {
		wg.Go(func() {
			for range next {
				call := execOnce(ctx, c, containerID, opts)
				mu.Lock()
				res.Calls = append(res.Calls, call)
				mu.Unlock()
				if opts.Ops != nil {
					opts.Ops.Add(1)
				}
			}
		})
	}
	var err error
	for i := range opts.Calls {
		select {
		case <-opts.Enough:
		default:
			select {
			case next <- struct{}{}:
				continue
			case <-opts.Enough:
			case <-ctx.Done():
				err = fmt.Errorf("exec probe loop on %.12s stopped after starting %d of %d calls: %w", containerID, i, opts.Calls, ctx.Err())
			}
		}
		break
	}
	close(next)
	wg.Wait()
	return res, err
}

// deadlineSlack is how early a call may end and still have ended at the
// client's deadline.
const deadlineSlack = 50 * time.Millisecond

func execOnce(ctx context.Context, c execer, id string, opts ProbeLoopOptions) Call {
	callCtx, cancel := context.WithTimeout(ctx, opts.Deadline)
	defer cancel()
	start := time.Now()
	_, err := c.ExecSync(callCtx, id, opts.Command, opts.Timeout)
	call := Call{Duration: time.Since(start)}
	var answer interface{ GRPCStatus() *status.Status }
	answered := errors.As(err, &answer)
	switch {
	case err == nil:
		call.Class = CallOK
	case ctx.Err() == nil && (errors.Is(callCtx.Err(), context.DeadlineExceeded) || call.Duration >= opts.Deadline-deadlineSlack):
		// The server enforces the same deadline (gRPC sends it along) and
		// may reset the stream a moment before the client's own timer
		// fires: that is the deadline too, not the runtime's answer.
		call.Class, call.Err = CallDeadline, context.DeadlineExceeded.Error()
	case !answered || answer.GRPCStatus().Code() == codes.Unavailable || answer.GRPCStatus().Code() == codes.Canceled:
		call.Class, call.Err = CallTransportError, err.Error()
	default:
		call.Class, call.Err = CallRuntimeError, answer.GRPCStatus().Message()
	}
	return call
}
