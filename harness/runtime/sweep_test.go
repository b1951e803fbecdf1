package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSweepRemovesAbandonedRoot: a root whose owner is dead is cleaned (its
// "daemon" killed, its mount unmounted, the root removed); a root whose
// owner lives is left alone.
func TestSweepRemovesAbandonedRoot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// An owner that is gone: a process that has already exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	abandoned, err := newRoot(Containerd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanRoot(context.Background(), abandoned, t.Logf) })
	owner := fmt.Sprintf("%d 1\n", dead.Process.Pid)
	if err := os.WriteFile(filepath.Join(abandoned, ownerFile), []byte(owner), 0o644); err != nil {
		t.Fatal(err)
	}
	// Its "daemon": a process whose command line names the root.
	daemon := startHelper(t, "sleep", "--config", filepath.Join(abandoned, "config.toml"))
	// And a mount below it, as a crashed dockerd leaves.
	mnt := filepath.Join(abandoned, "data")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}

	live, err := newRoot(Dockerd) // owned by this process
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanRoot(context.Background(), live, t.Logf) })

	if err := Sweep(ctx, testLogf(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-daemon.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon %d of the abandoned root survived Sweep", daemon.pid)
	}
	assertNothingLeft(t, abandoned)
	if _, err := os.Stat(filepath.Join(live, ownerFile)); err != nil {
		t.Errorf("Sweep touched the root of a live owner: %v", err)
	}
}
