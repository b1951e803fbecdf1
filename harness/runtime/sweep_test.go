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

// TestSweepTakesOwnerlessRoots: a root that lost its owner file (a cleanup
// that failed half-way) is cleaned once it is old enough; a fresh one (being
// made) and a directory not named like a root are left alone.
func TestSweepTakesOwnerlessRoots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old, err := newRoot(Dockerd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanRoot(context.Background(), old, t.Logf) })
	fresh, err := newRoot(Dockerd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanRoot(context.Background(), fresh, t.Logf) })
	other := filepath.Join(TempBase, "not-a-root-"+filepath.Base(old))
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(other) })
	// What the failed runs left: exec/runtime-runc/moby and no owner file.
	if err := os.MkdirAll(filepath.Join(old, "exec", "runtime-runc", "moby"), 0o711); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{old, fresh} {
		if err := os.Remove(filepath.Join(r, ownerFile)); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * ownerlessAfter)
	for _, p := range []string{old, other} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	if err := Sweep(ctx, testLogf(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("ownerless root %s survived Sweep (stat: %v)", old, err)
	}
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Sweep removed %s: %v", p, err)
		}
	}
}

// TestSweepRemovesSocketOfGoneHarness: the per-process sandbox socket path
// of a harness that is gone is removed; a live harness's (this test's) and
// files that are no such socket stay.
func TestSweepRemovesSocketOfGoneHarness(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	gone := filepath.Join(base, fmt.Sprintf("docker-%d.sock", dead.Process.Pid))
	mine := filepath.Join(base, fmt.Sprintf("docker-%d.sock", os.Getpid()))
	other := filepath.Join(base, "docker-notes.txt")
	for _, p := range []string{gone, mine, other} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := sweepBase(context.Background(), base, testLogf(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("%s of a gone harness survived the sweep (stat: %v)", gone, err)
	}
	for _, p := range []string{mine, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("sweep removed %s, which it must leave: %v", p, err)
		}
	}
}
