package crash

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// Boot is one start of a crashed daemon, running in the background so a
// stimulus can watch it grow or hang while it lasts. The sandbox's Start
// blocks until the API answers, the daemon exits or Start's own deadline;
// it runs under a context of its own, not the stimulus', because the
// stimulus is cancelled the moment a breach is certain and Start kills a
// daemon it gives up on: the daemon must still be there for diagnostics.
type Boot struct {
	began  time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	err  error
	took time.Duration
}

// StartBoot starts sb in the background, from ns when it is not nil (a
// daemon that lived in a private network namespace must be born there
// again), giving up after timeout. Abort it when done with it.
func StartBoot(ns *NetNS, sb runtime.Sandbox, timeout time.Duration) *Boot {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	b := &Boot{began: time.Now(), cancel: cancel, done: make(chan struct{})}
	start := func() {
		err := sb.Start(ctx)
		b.mu.Lock()
		b.err, b.took = err, time.Since(b.began)
		b.mu.Unlock()
	}
	go func() {
		defer close(b.done)
		if ns == nil {
			start()
			return
		}
		if err := ns.Do(start); err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
		}
	}()
	return b
}

// Done is closed once Start has returned.
func (b *Boot) Done() <-chan struct{} { return b.done }

// Result is how long Start took and its error (nil: the daemon came up);
// valid once Done is closed.
func (b *Boot) Result() (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.took, b.err
}

// Began is when the start was asked for.
func (b *Boot) Began() time.Time { return b.began }

// Abort gives up on a start still waiting (Start then kills the daemon)
// and waits for it to return; a daemon that came up keeps running. It has
// the signature of an Env.Defer cleanup.
func (b *Boot) Abort(ctx context.Context) error {
	b.cancel()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return errors.New("boot abort: Start did not return: " + ctx.Err().Error())
	}
}

var exitPattern = regexp.MustCompile(`exited during startup \(([^)]*)\)`)

// ExitStatus extracts how the daemon ended from a failed Start's error
// ("exit status 2", "signal: killed"), or "" when it did not exit.
func ExitStatus(err error) string {
	if err == nil {
		return ""
	}
	if m := exitPattern.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}
