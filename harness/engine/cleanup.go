package engine

import (
	"context"
	"errors"
	"sync"
)

// cleanupStack runs registered cleanups in reverse order, every one of them
// even when some fail, so a failed step never strands a mount or a daemon.
type cleanupStack struct {
	mu  sync.Mutex
	fns []func(context.Context) error
}

func (c *cleanupStack) push(fn func(context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, fn)
}

func (c *cleanupStack) run(ctx context.Context) error {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
