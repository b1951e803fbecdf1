package fusehang

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// SharedDir is a host directory made an rshared mount point of its own, the
// shape a CSI driver's staging directory has: a FUSE server in a sidecar
// container mounts into it (bind-propagation=rshared) and the mount appears on
// the host and in the workload container (bind-propagation=rslave). Docker
// refuses those propagation modes on a directory that is not a shared mount,
// hence the bind of the directory onto itself.
type SharedDir struct {
	dir  string
	made bool

	closeOnce sync.Once
	closeErr  error
}

// MakeShared turns dir (created if missing) into an rshared bind mount of
// itself in a new peer group, so nothing mounted below it propagates
// anywhere but into the containers that bind it. Close undoes it.
func MakeShared(ctx context.Context, dir string) (*SharedDir, error) {
	if dir == "" {
		return nil, errors.New("fusehang: empty shared directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fusehang: shared directory %q: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fusehang: make %s shared: %w", abs, err)
	}
	s := &SharedDir{dir: abs}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("fusehang: create shared directory: %w", err)
		}
		s.made = true
	} else if err != nil {
		return nil, fmt.Errorf("fusehang: shared directory: %w", err)
	}
	if below, err := mountsBelow(abs); err != nil {
		return nil, err
	} else if len(below) > 0 {
		return nil, fmt.Errorf("fusehang: %s already has a mount (%s on %s); give MakeShared a fresh directory", abs, below[0].FSType, below[0].MountPoint)
	}
	steps := []struct {
		what  string
		flags uintptr
		src   string
	}{
		{"bind onto itself", unix.MS_BIND, abs},
		{"make private (leave the parent's peer group)", unix.MS_PRIVATE, ""},
		{"make rshared", unix.MS_SHARED | unix.MS_REC, ""},
	}
	for i, st := range steps {
		if err := unix.Mount(st.src, abs, "", st.flags, ""); err != nil {
			if i > 0 {
				_ = unix.Unmount(abs, unix.MNT_DETACH)
			}
			if s.made {
				os.Remove(abs)
			}
			return nil, fmt.Errorf("fusehang: %s: %s: %w", abs, st.what, err)
		}
	}
	return s, nil
}

// Dir is the shared directory: bind it into a FUSE sidecar with
// bind-propagation=rshared and into the reader with rslave.
func (s *SharedDir) Dir() string { return s.dir }

// Close aborts every FUSE connection mounted at or below the directory (a
// sidecar's hang that was never released, or one whose server died), unmounts
// everything there including the bind itself, and removes the directory if
// MakeShared created it. Safe to call more than once.
func (s *SharedDir) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *SharedDir) close(ctx context.Context) error {
	var errs []error
	fuses, err := fuseMountsBelow(s.dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, m := range fuses {
		conn, err := parseConn(m.MajorMinorVer)
		if err == nil {
			err = abortConn(ctx, conn)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("fusehang: abort fuse mount on %s: %w", m.MountPoint, err))
		}
	}
	// Unmount deepest first; every entry stacked on the directory is ours.
	for tries := 0; tries < 64; tries++ {
		below, err := mountsBelow(s.dir)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(below) == 0 {
			break
		}
		m := below[0]
		if err := unix.Unmount(m.MountPoint, unix.MNT_DETACH); err != nil && !notMounted(err) {
			errs = append(errs, fmt.Errorf("fusehang: unmount %s (%s): %w", m.MountPoint, m.FSType, err))
			break
		}
	}
	if s.made {
		if err := os.Remove(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fusehang: remove shared directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// mountsBelow lists the mounts at or below dir, deepest path first and,
// on the same path, most recent first.
func mountsBelow(dir string) ([]*procfs.MountInfo, error) {
	mounts, err := procfs.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("fusehang: read mountinfo: %w", err)
	}
	var out []*procfs.MountInfo
	for i := len(mounts) - 1; i >= 0; i-- {
		if within(mounts[i].MountPoint, dir) {
			out = append(out, mounts[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].MountPoint) > len(out[j].MountPoint) })
	return out, nil
}
