package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
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
			if err := sweepSocket(base, e.Name(), logf); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		root := filepath.Join(base, e.Name())
		pid, alive, err := ownerAlive(root)
		if errors.Is(err, fs.ErrNotExist) {
			if !ownerlessRoot(e.Name(), root) {
				continue // not an instance root, or one being made right now
			}
			logf("sweep: %s has lost its owner file (a cleanup that failed half-way); cleaning it", root)
			if err := cleanRoot(ctx, root, logf); err != nil {
				errs = append(errs, err)
			}
			continue
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

// hostSocket matches the per-process socket path every dockerd sandbox of
// one harness process listens on (DOCKER_HOST for testcontainers-go):
// docker-<pid of the harness>.sock.
var hostSocket = regexp.MustCompile(`^docker-([0-9]+)\.sock$`)

// sweepSocket removes a harness process' sandbox socket path once that
// process is gone: the sandbox's dockerd listens there through a bind
// mount, so its own shutdown leaves the file behind.
func sweepSocket(base, name string, logf func(string, ...any)) error {
	m := hostSocket.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid == os.Getpid() {
		return nil
	}
	if _, err := procStartTime(pid); err == nil {
		return nil // its harness still runs
	}
	p := filepath.Join(base, name)
	logf("sweep: removing %s, left by pid %d, which is gone", p, pid)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}

// ownerlessAfter is how old a root without an owner file must be before the
// sweep takes it: newRoot writes the owner file right after the directory.
const ownerlessAfter = time.Minute

// rootName matches the names newRoot gives: <kind>-<8 hex digits>.
var rootName = regexp.MustCompile(`^(` + string(Containerd) + `|` + string(Dockerd) + `)-[0-9a-f]{8}$`)

// ownerlessRoot says whether a directory without an owner file is an
// instance root left behind rather than one being made.
func ownerlessRoot(name, root string) bool {
	if !rootName.MatchString(name) {
		return false
	}
	fi, err := os.Stat(root)
	return err == nil && time.Since(fi.ModTime()) > ownerlessAfter
}
