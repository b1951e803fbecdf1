package fusehang

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// hangFile is the one file of a Hang. Open asks for direct I/O so no page
// cache can answer a read: every read reaches Read, which holds it.
type hangFile struct {
	fs.Inode
	b *blocker
}

var (
	_ fs.NodeOpener    = (*hangFile)(nil)
	_ fs.NodeReader    = (*hangFile)(nil)
	_ fs.NodeGetattrer = (*hangFile)(nil)
)

// Open allows reading only and turns the page cache off.
func (f *hangFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

// Getattr reports a read-only regular file as long as the released answer.
func (f *hangFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	out.Size = uint64(len(releasedContent))
	return 0
}

// Read holds the request until the hang is released. It deliberately ignores
// ctx: go-fuse cancels it when the kernel forwards an INTERRUPT (the reader
// got a signal), and honouring it would let the reader die, which is exactly
// what a hung FUSE server does not do.
func (f *hangFile) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.b.hold()
	if off >= int64(len(releasedContent)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(releasedContent[off:]), 0
}

// blocker holds reads until released and counts the ones it holds.
type blocker struct {
	mu       sync.Mutex
	held     int
	released chan struct{} // closed by release
	changed  chan struct{} // closed and replaced on every change of held
}

func newBlocker() *blocker {
	return &blocker{released: make(chan struct{}), changed: make(chan struct{})}
}

// hold blocks until release, counted in held meanwhile.
func (b *blocker) hold() {
	b.mu.Lock()
	select {
	case <-b.released:
		b.mu.Unlock()
		return
	default:
	}
	b.held++
	b.notifyLocked()
	rel := b.released
	b.mu.Unlock()

	<-rel

	b.mu.Lock()
	b.held--
	b.notifyLocked()
	b.mu.Unlock()
}

func (b *blocker) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *blocker) blocked() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

func (b *blocker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.released:
	default:
		close(b.released)
	}
}

// wait returns once at least n reads are held, or with ctx's error.
func (b *blocker) wait(ctx context.Context, n int) error {
	for {
		b.mu.Lock()
		held, changed := b.held, b.changed
		b.mu.Unlock()
		if held >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
