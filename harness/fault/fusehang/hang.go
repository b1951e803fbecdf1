// Package fusehang injects the "hung FUSE mount" fault: a FUSE filesystem with
// one file whose reads are taken by the server and never answered until the
// test releases them. A process reading that file sits in uninterruptible
// sleep (the kernel's request_wait_answer) and survives SIGKILL, which is how
// a container on a hung CSI/FUSE volume becomes unkillable.
//
// Every Hang is released and unmounted by Close, which falls back to the
// kernel's fusectl abort and a lazy unmount when a plain unmount is not
// enough. Close is idempotent and belongs in every cleanup path: a hang left
// behind leaves D-state tasks on the machine.
package fusehang

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// FSName is the source and fuse subtype of every hang mount, so a person (or
// a cleanup check) can find them in /proc/mounts as "fuse.relapse-fusehang".
const FSName = "relapse-fusehang"

// DefaultFile is the name of the file whose reads hang.
const DefaultFile = "file"

// releasedContent is what a read answers once the hang is released.
var releasedContent = []byte("released\n")

const maxRead = 128 << 10

// Options tunes a Hang. The zero value is usable.
type Options struct {
	// File is the name of the hanging file in the mount's root; empty means
	// DefaultFile.
	File string
	// Logf receives the FUSE server's diagnostics and Close's fallbacks; nil
	// discards them.
	Logf func(format string, args ...any)
}

// Hang is a mounted FUSE filesystem whose file reads block until Release.
type Hang struct {
	dir     string
	file    string
	made    bool // Mount created dir and Close removes it
	conn    uint32
	srv     *fuse.Server
	logf    func(string, ...any)
	blocker *blocker

	closeOnce sync.Once
	closeErr  error
}

// Mount serves a hanging filesystem on dir (created if missing) until Close.
// It needs root (CAP_SYS_ADMIN) and /dev/fuse.
//
// The server's /dev/fuse descriptor is opened close-on-exec: a child process
// that inherited it (a dockerd started later by the same test, say) would
// keep the FUSE connection, and every reader hung on it, alive after Close.
func Mount(ctx context.Context, dir string, opts Options) (*Hang, error) {
	if dir == "" {
		return nil, errors.New("fusehang: empty mount directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fusehang: mount directory %q: %w", dir, err)
	}
	file := opts.File
	if file == "" {
		file = DefaultFile
	}
	if file != filepath.Base(file) || file == "." || file == ".." {
		return nil, fmt.Errorf("fusehang: file name %q must be a plain name without '/'", file)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fusehang: mount %s: %w", abs, err)
	}

	h := &Hang{dir: abs, file: file, logf: logf, blocker: newBlocker()}
	if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("fusehang: create mount directory: %w", err)
		}
		h.made = true
	} else if err != nil {
		return nil, fmt.Errorf("fusehang: mount directory: %w", err)
	}

	if err := h.mount(); err != nil {
		if h.made {
			_ = os.Remove(abs)
		}
		return nil, err
	}
	conn, err := connOf(abs)
	if err != nil {
		cerr := h.Close(context.Background())
		return nil, errors.Join(fmt.Errorf("fusehang: find the fuse connection of %s: %w", abs, err), cerr)
	}
	h.conn = conn
	return h, nil
}

// mount opens /dev/fuse close-on-exec, mounts it on h.dir itself and hands
// the descriptor to go-fuse through its /dev/fd/N convention. go-fuse's own
// direct mount opens /dev/fuse without O_CLOEXEC, and its fusermount path
// needs a setuid helper; doing the mount here avoids both.
func (h *Hang) mount() error {
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fusehang: open /dev/fuse (needs root and the fuse module; in a container --device /dev/fuse --cap-add SYS_ADMIN): %w", err)
	}
	data := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,allow_other,max_read=%d",
		fd, os.Geteuid(), os.Getegid(), maxRead)
	if err := unix.Mount(FSName, h.dir, "fuse."+FSName, unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		unix.Close(fd)
		return fmt.Errorf("fusehang: mount fuse on %s: %w", h.dir, err)
	}

	root := &fs.Inode{}
	file := &hangFile{b: h.blocker}
	logger := log.New(logfWriter(h.logf), "fusehang: go-fuse: ", 0)
	mountOpts := fuse.MountOptions{
		FsName:   FSName,
		Name:     FSName,
		MaxWrite: maxRead,
		Logger:   logger,
	}
	nodeFS := fs.NewNodeFS(root, &fs.Options{
		MountOptions: mountOpts,
		OnAdd: func(ctx context.Context) {
			ch := root.NewPersistentInode(ctx, file, fs.StableAttr{Mode: syscall.S_IFREG, Ino: 2})
			root.AddChild(h.file, ch, true)
		},
		Logger: logger,
	})
	srv, err := fuse.NewServer(nodeFS, fmt.Sprintf("/dev/fd/%d", fd), &mountOpts)
	if err != nil {
		_ = unix.Unmount(h.dir, unix.MNT_DETACH)
		unix.Close(fd)
		return fmt.Errorf("fusehang: start fuse server on %s: %w", h.dir, err)
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		// Unmounting ends the serve loop, which closes fd.
		_ = unix.Unmount(h.dir, unix.MNT_DETACH)
		return fmt.Errorf("fusehang: fuse server on %s: %w", h.dir, err)
	}
	h.srv = srv
	return nil
}

// Dir is the mount point.
func (h *Hang) Dir() string { return h.dir }

// Path is the hanging file: reads of it block until Release.
func (h *Hang) Path() string { return filepath.Join(h.dir, h.file) }

// Conn is the kernel's FUSE connection id, the directory name under
// /sys/fs/fuse/connections that aborts it.
func (h *Hang) Conn() uint32 { return h.conn }

// Blocked is the number of reads the server holds unanswered right now.
func (h *Hang) Blocked() int { return h.blocker.blocked() }

// WaitBlocked waits until at least n reads are held, so a test knows its
// reader is stuck before it stimulates anything.
func (h *Hang) WaitBlocked(ctx context.Context, n int) error {
	if err := h.blocker.wait(ctx, n); err != nil {
		return fmt.Errorf("fusehang: waiting for %d blocked reads on %s (have %d): %w", n, h.Path(), h.Blocked(), err)
	}
	return nil
}

// Release answers every held read and makes later reads answer at once, so
// the stuck readers finish and their processes can exit or die.
func (h *Hang) Release() { h.blocker.release() }

// Abort aborts the FUSE connection through fusectl without unmounting:
// every pending and later request fails with ENOTCONN, as when an operator
// rescues a node from a hung CSI driver. Held reads in the server stay held
// until Release or Close.
func (h *Hang) Abort(ctx context.Context) error {
	return abortConn(ctx, h.conn)
}

// Close releases every held read, unmounts the filesystem and waits for the
// server to stop. When the plain unmount keeps failing (a process still
// holds a file open), it aborts the connection through fusectl and unmounts
// lazily. Safe to call more than once; later calls return the first result.
func (h *Hang) Close(ctx context.Context) error {
	h.closeOnce.Do(func() { h.closeErr = h.close(ctx) })
	return h.closeErr
}

func (h *Hang) close(ctx context.Context) error {
	h.Release()
	var errs []error
	aborted := false
	if err := unmountRetry(ctx, h.dir, 2*time.Second); err != nil {
		h.logf("fusehang: unmount %s: %v; aborting fuse connection %d and unmounting lazily", h.dir, err, h.conn)
		if h.conn != 0 {
			if err := abortConn(ctx, h.conn); err != nil {
				errs = append(errs, err)
			}
			aborted = true
		}
		if err := unix.Unmount(h.dir, unix.MNT_DETACH); err != nil && !notMounted(err) {
			errs = append(errs, fmt.Errorf("fusehang: lazy unmount %s: %w", h.dir, err))
		}
	}
	if h.srv != nil {
		if err := waitServer(ctx, h.srv); err != nil {
			if !aborted && h.conn != 0 {
				// A reference elsewhere (another mount namespace, an open
				// file) keeps the connection; abort it so the loop ends.
				if aerr := abortConn(context.Background(), h.conn); aerr != nil {
					errs = append(errs, aerr)
				}
				wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = waitServer(wctx, h.srv)
				cancel()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("fusehang: fuse server for %s did not stop: %w", h.dir, err))
			}
		}
	}
	if h.made {
		if err := os.Remove(h.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fusehang: remove mount directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// unmountRetry unmounts dir, retrying EBUSY for up to patience: readers that
// were just answered need a moment to close the file.
func unmountRetry(ctx context.Context, dir string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		err := unix.Unmount(dir, 0)
		if err == nil || notMounted(err) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// notMounted tells the errors umount(2) gives when there is nothing to do.
func notMounted(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT)
}

func waitServer(ctx context.Context, srv *fuse.Server) error {
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logfWriter adapts a printf-style sink to the io.Writer a log.Logger wants.
type logfWriter func(string, ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		return p[:n-1]
	}
	return p
}
