package fusehang

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// fusectlDir is where fusectl is conventionally mounted.
const fusectlDir = "/sys/fs/fuse/connections"

// AbortMount aborts the FUSE connection mounted on mountpoint through
// fusectl, for mounts this process does not serve: a sidecar's mount seen
// through a shared host directory, or one left by a crashed server. Every
// reader stuck on it gets ENOTCONN; the mount stays until unmounted. It is
// not an error when nothing FUSE is mounted there.
func AbortMount(ctx context.Context, mountpoint string) error {
	conn, err := connOf(mountpoint)
	if errors.Is(err, errNoFuseMount) {
		return nil
	}
	if err != nil {
		return err
	}
	return abortConn(ctx, conn)
}

var errNoFuseMount = errors.New("no fuse mount")

// connOf finds the fusectl connection id of the topmost FUSE mount on
// mountpoint. It reads mountinfo rather than stat(2)ing the mount point,
// which would itself hang on a wedged server.
func connOf(mountpoint string) (uint32, error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return 0, fmt.Errorf("fusehang: %q: %w", mountpoint, err)
	}
	mounts, err := procfs.GetMounts()
	if err != nil {
		return 0, fmt.Errorf("fusehang: read mountinfo: %w", err)
	}
	var dev string
	for _, m := range mounts {
		if m.MountPoint == abs && isFuse(m.FSType) {
			dev = m.MajorMinorVer // the last one is the topmost
		}
	}
	if dev == "" {
		return 0, fmt.Errorf("fusehang: %s: %w", abs, errNoFuseMount)
	}
	return parseConn(dev)
}

func isFuse(fstype string) bool {
	return fstype == "fuse" || strings.HasPrefix(fstype, "fuse.")
}

// parseConn turns mountinfo's "major:minor" into the kernel's dev_t
// encoding, which fusectl uses as the connection directory name.
func parseConn(majorMinor string) (uint32, error) {
	maj, min, ok := strings.Cut(majorMinor, ":")
	if !ok {
		return 0, fmt.Errorf("fusehang: bad device %q in mountinfo, want major:minor", majorMinor)
	}
	ma, err := strconv.ParseUint(maj, 10, 12)
	if err != nil {
		return 0, fmt.Errorf("fusehang: bad major in %q: %w", majorMinor, err)
	}
	mi, err := strconv.ParseUint(min, 10, 20)
	if err != nil {
		return 0, fmt.Errorf("fusehang: bad minor in %q: %w", majorMinor, err)
	}
	return uint32(ma<<20 | mi), nil
}

// abortConn writes 1 to fusectl's connections/<conn>/abort. When fusectl is
// not mounted at its usual place it mounts a private instance under
// /tmp/relapse for the write and unmounts it afterwards, leaving /sys alone.
// A connection that no longer exists needs no abort.
func abortConn(ctx context.Context, conn uint32) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fusehang: abort connection %d: %w", conn, err)
	}
	dir, cleanup, err := fusectl()
	if err != nil {
		return err
	}
	defer cleanup()
	path := filepath.Join(dir, strconv.FormatUint(uint64(conn), 10), "abort")
	if err := os.WriteFile(path, []byte("1"), 0); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("fusehang: abort fuse connection %d: %w", conn, err)
	}
	return nil
}

// fusectl returns a directory where fusectl is mounted and a cleanup that
// undoes any mount it made.
func fusectl() (string, func(), error) {
	if mounted, err := isFusectl(fusectlDir); err == nil && mounted {
		return fusectlDir, func() {}, nil
	}
	if err := os.MkdirAll("/tmp/relapse", 0o755); err != nil {
		return "", nil, fmt.Errorf("fusehang: fusectl mount point: %w", err)
	}
	dir, err := os.MkdirTemp("/tmp/relapse", "fusectl-")
	if err != nil {
		return "", nil, fmt.Errorf("fusehang: fusectl mount point: %w", err)
	}
	if err := unix.Mount("fusectl", dir, "fusectl", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("fusehang: mount fusectl (needs root; the fuse module provides it): %w", err)
	}
	return dir, func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err == nil {
			os.Remove(dir)
		}
	}, nil
}

func isFusectl(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	const fusectlSuperMagic = 0x65735543
	return st.Type == fusectlSuperMagic, nil
}

// fuseMountsBelow lists FUSE mount points at or below dir, deepest and
// most recent first, so they can be unmounted in order.
func fuseMountsBelow(dir string) ([]*procfs.MountInfo, error) {
	mounts, err := procfs.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("fusehang: read mountinfo: %w", err)
	}
	var out []*procfs.MountInfo
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if isFuse(m.FSType) && within(m.MountPoint, dir) {
			out = append(out, m)
		}
	}
	return out, nil
}

func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}
