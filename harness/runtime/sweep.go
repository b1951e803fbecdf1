package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Sweep cleans up after harness processes that died without closing their
// sandboxes (Ctrl-C twice, SIGKILL, a crash): for every root under TempBase
// whose owner file names a process that is no longer alive, it kills the
// containers, daemons and shims that refer to the root, unmounts everything
// below it and removes it. Roots of live owners, and directories without an
// owner file (not made by this package), are left alone. A suite calls it
// once before starting its first sandbox.
func Sweep(ctx context.Context, logf func(string, ...any)) error {
	return sweepBase(ctx, TempBase, logf)
}

func sweepBase(ctx context.Context, base string, logf func(string, ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep %s: %w", base, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		root := filepath.Join(base, e.Name())
		pid, alive, err := ownerAlive(root)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no owner file: not an instance root
		}
		if err != nil {
			logf("sweep: skipping %s: %v", root, err)
			continue
		}
		if alive {
			continue
		}
		logf("sweep: %s was left by pid %d, which is gone; cleaning it", root, pid)
		if err := cleanRoot(ctx, root, logf); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
