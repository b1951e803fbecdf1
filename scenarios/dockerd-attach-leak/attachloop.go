package dockerdattachleak

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
)

// AttachLoopOptions shapes the reconnecting attach client.
type AttachLoopOptions struct {
	// Attaches is how many attaches to make, one after another; at least 1.
	Attaches int
	// Hold is how long each attach stays connected before the client
	// closes it: long enough for dockerd to have wired the attach to the
	// container's streams (what moby's own test waits for), short enough
	// that the container prints nothing meanwhile. It must be positive.
	Hold time.Duration
	// Deadline bounds the attach request itself (the upgrade to a raw
	// stream); it must be positive.
	Deadline time.Duration
	// Ops, if set, counts each finished attach.
	Ops *probe.Ops
	// Enough, once closed, ends the loop before its next attach
	// (incident.Env.Enough); AttachLoop then returns how many it made. Nil
	// never does.
	Enough <-chan struct{}
}

// AttachLoop attaches to containerID's stdout as a stream, over and over,
// and cuts each connection after opts.Hold: the sequence of moby's
// regression test for the leak (attach to a container that prints nothing,
// let the daemon set the attach up, close the client side), repeated the
// way a monitoring agent or a `docker attach`/`docker logs`-style client
// that reconnects in a loop repeats it. Any failed attach ends the loop:
// on a silent, running container every attach must be accepted.
func AttachLoop(ctx context.Context, cli *client.Client, containerID string, opts AttachLoopOptions) (int, error) {
	switch {
	case cli == nil || containerID == "":
		return 0, errors.New("attach loop: need a docker client and a container id")
	case opts.Attaches <= 0 || opts.Hold <= 0 || opts.Deadline <= 0:
		return 0, fmt.Errorf("attach loop: %d attaches, hold %v, deadline %v: want all positive", opts.Attaches, opts.Hold, opts.Deadline)
	}
	for i := range opts.Attaches {
		if incident.Closed(opts.Enough) {
			return i, nil
		}
		if err := attachOnce(ctx, cli, containerID, opts); err != nil {
			return i, fmt.Errorf("attach %d of %d to %.12s: %w", i+1, opts.Attaches, containerID, err)
		}
		if opts.Ops != nil {
			opts.Ops.Add(1)
		}
	}
	return opts.Attaches, nil
}

func attachOnce(ctx context.Context, cli *client.Client, id string, opts AttachLoopOptions) error {
	// The request's context lives until the connection is closed, so the
	// client's Close, not a cancelled context, is what ends the attach.
	actx, cancel := context.WithTimeout(ctx, opts.Deadline+opts.Hold)
	defer cancel()
	res, err := cli.ContainerAttach(actx, id, client.ContainerAttachOptions{Stream: true, Stdout: true})
	if err != nil {
		return err
	}
	defer res.Close()
	return wait.Sleep(ctx, opts.Hold)
}
