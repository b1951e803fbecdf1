// Package wait holds the context-aware waits every part of relapse uses, so
// a Ctrl-C or an early verdict ends a wait at once.
package wait

import (
	"context"
	"fmt"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first, and
// returns ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Until asks cond every `every` until it says done, ctx is done, or within
// has passed; the timeout error names what was awaited and cond's last word.
func Until(ctx context.Context, what string, every, within time.Duration, cond func() (done bool, last string)) error {
	deadline := time.Now().Add(within)
	for {
		done, last := cond()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			if last != "" {
				return fmt.Errorf("%s: not within %s (last: %s)", what, within, last)
			}
			return fmt.Errorf("%s: not within %s", what, within)
		}
		if err := Sleep(ctx, every); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}
