package dockerdkilldstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
)

// KillLoopOptions shapes the kubelet-like stop loop.
type KillLoopOptions struct {
	// Calls is the number of stop calls to make; it must be positive.
	Calls int
	// StopTimeout is the stop call's grace period in seconds (the API's t):
	// dockerd sends SIGTERM, waits this long, then SIGKILLs. kubelet passes
	// the pod's remaining grace period; 1 keeps each call short. -1 waits
	// indefinitely.
	StopTimeout int
	// Deadline is the client-side deadline of each call, as kubelet's
	// runtime request timeout: the call is abandoned when it passes, while
	// the daemon may still be working on it. It must be positive.
	Deadline time.Duration
	// Ops, if set, counts each finished call (whatever its outcome).
	Ops *probe.Ops
	// Enough, once closed, ends the loop before its next call
	// (incident.Env.Enough). Nil never does.
	Enough <-chan struct{}
}

// CallClass sorts a stop call's outcome.
type CallClass string

const (
	// CallOK is a call the daemon answered with success: the container stopped.
	CallOK CallClass = "ok"
	// CallDeadline is a call abandoned at the client deadline, still in
	// flight inside the daemon: the shape that leaks in old dockerd.
	CallDeadline CallClass = "deadline"
	// CallDaemonError is a call the daemon answered with an error, e.g.
	// "tried to kill container, but did not receive an exit event".
	CallDaemonError CallClass = "daemon-error"
	// CallTransportError is a call that never got an answer for another
	// reason (daemon down, socket gone).
	CallTransportError CallClass = "transport-error"
)

// Call is one stop call's outcome.
type Call struct {
	// Duration is how long the call took from the client's side.
	Duration time.Duration `json:"duration"`
	// Class sorts the outcome.
	Class CallClass `json:"class"`
	// Err is the error text, empty for CallOK.
	Err string `json:"err,omitempty"`
}

// KillLoopResult is every call's outcome, in order.
type KillLoopResult struct {
	Calls []Call `json:"calls"`
}

// Count returns how many calls ended in class.
func (r KillLoopResult) Count(class CallClass) int {
	n := 0
	for _, c := range r.Calls {
		if c.Class == class {
			n++
		}
	}
	return n
}

// Errors returns each distinct error text with how often it occurred, for
// narration.
func (r KillLoopResult) Errors() map[string]int {
	out := map[string]int{}
	for _, c := range r.Calls {
		if c.Err != "" {
			out[c.Err]++
		}
	}
	return out
}

// KillLoop stops containerID over and over, back to back, the way kubelet
// keeps calling the runtime to stop a container that will not die (its
// process stuck in D state on a hung volume). Each call asks dockerd to stop
// with opts.StopTimeout under a client deadline of opts.Deadline, and counts
// one op. A call that fails is recorded, not fatal: failing is what these
// calls do against an unkillable container.
//
// It returns the outcomes of the calls made; when ctx ends first the result
// holds the calls so far and the error wraps ctx.Err().
func KillLoop(ctx context.Context, cli *client.Client, containerID string, opts KillLoopOptions) (KillLoopResult, error) {
	switch {
	case cli == nil:
		return KillLoopResult{}, errors.New("kill loop: nil docker client")
	case containerID == "":
		return KillLoopResult{}, errors.New("kill loop: empty container id")
	case opts.Calls <= 0:
		return KillLoopResult{}, fmt.Errorf("kill loop: Calls is %d, want at least 1", opts.Calls)
	case opts.Deadline <= 0:
		return KillLoopResult{}, fmt.Errorf("kill loop: Deadline is %v, want a positive per-call deadline (kubelet uses 2m; 2s keeps a test short)", opts.Deadline)
	case opts.StopTimeout < -1:
		return KillLoopResult{}, fmt.Errorf("kill loop: StopTimeout is %d, want -1 (wait forever) or more", opts.StopTimeout)
	}
	res := KillLoopResult{Calls: make([]Call, 0, opts.Calls)}
	for i := 0; i < opts.Calls && !incident.Closed(opts.Enough); i++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("kill loop on %.12s stopped after %d of %d calls: %w", containerID, i, opts.Calls, err)
		}
		res.Calls = append(res.Calls, stopOnce(ctx, cli, containerID, opts.StopTimeout, opts.Deadline))
		if opts.Ops != nil {
			opts.Ops.Add(1)
		}
	}
	return res, nil
}

func stopOnce(ctx context.Context, cli *client.Client, id string, stopTimeout int, deadline time.Duration) Call {
	// The clock starts before the deadline's, so a call cut at its
	// deadline never reads shorter than the deadline on a loaded machine.
	start := time.Now()
	callCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	t := stopTimeout
	_, err := cli.ContainerStop(callCtx, id, client.ContainerStopOptions{Timeout: &t})
	c := Call{Duration: time.Since(start)}
	switch {
	case err == nil:
		c.Class = CallOK
	case errors.Is(callCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		c.Class, c.Err = CallDeadline, context.DeadlineExceeded.Error()
	case answeredByDaemon(err):
		c.Class, c.Err = CallDaemonError, err.Error()
	default:
		c.Class, c.Err = CallTransportError, err.Error()
	}
	return c
}

// daemonErrors are the error classes the client maps a daemon's HTTP error
// status to; an error matching none never came from the daemon.
var daemonErrors = []error{
	cerrdefs.ErrInternal, cerrdefs.ErrInvalidArgument, cerrdefs.ErrNotFound,
	cerrdefs.ErrConflict, cerrdefs.ErrUnavailable, cerrdefs.ErrUnknown,
	cerrdefs.ErrNotImplemented, cerrdefs.ErrPermissionDenied, cerrdefs.ErrUnauthenticated,
	cerrdefs.ErrFailedPrecondition, cerrdefs.ErrAlreadyExists, cerrdefs.ErrNotModified,
	cerrdefs.ErrResourceExhausted,
}

func answeredByDaemon(err error) bool {
	for _, e := range daemonErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
