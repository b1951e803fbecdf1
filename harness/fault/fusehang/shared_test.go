package fusehang

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

func TestSharedDirIsRsharedAndCleansUpAHangBelow(t *testing.T) {
	needFuse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := filepath.Join(tempDir(t), "shared")
	s, err := MakeShared(ctx, dir)
	if err != nil {
		t.Fatalf("MakeShared: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })

	mounts, err := procfs.GetMounts()
	if err != nil {
		t.Fatal(err)
	}
	var shared bool
	for _, m := range mounts {
		if m.MountPoint == dir {
			_, shared = m.OptionalFields["shared"]
		}
	}
	if !shared {
		t.Fatalf("%s is not a shared mount after MakeShared: %v", dir, mountedAt(t, dir))
	}
	if _, err := MakeShared(ctx, dir); err == nil || !strings.Contains(err.Error(), "already has a mount") {
		t.Fatalf("second MakeShared on %s = %v, want an already-mounted error", dir, err)
	}

	// A hang stacked on the shared dir, as a sidecar's mount appears on the
	// host, with a reader stuck on it: Close must free the reader and leave
	// nothing mounted.
	h := mountHang(t, dir)
	r := startReader(t, h.Path())
	waitBlocked(t, h, 1)
	if err := s.Close(ctx); err != nil {
		t.Fatalf("SharedDir.Close: %v", err)
	}
	if err := r.waitExit(t, 5*time.Second); err == nil {
		t.Fatal("reader succeeded; want its read aborted")
	}
	if got := mountedAt(t, dir); len(got) != 0 {
		t.Fatalf("mounts left after SharedDir.Close: %v", got)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("shared dir MakeShared created still there: %v", err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Hang.Close after its mount was taken away: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second SharedDir.Close: %v", err)
	}
}
