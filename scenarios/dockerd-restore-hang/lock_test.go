package dockerdrestorehang

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/incident"
)

// TestLockIsHeldUntilTheVariantEnds: what dockerd's bbolt open meets is an
// exclusive flock, and the variant's cleanup frees it.
func TestLockIsHeldUntilTheVariantEnds(t *testing.T) {
	dataRoot := t.TempDir()
	p := crash.LocalKV(dataRoot)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var cleanups []func(context.Context) error
	env := &incident.Env{
		Logf:  t.Logf,
		Defer: func(fn func(context.Context) error) { cleanups = append(cleanups, fn) },
	}
	if err := holdLocalKVLock(context.Background(), env, dataRoot); err != nil {
		t.Fatal(err)
	}
	// flock locks belong to an open file description: a second open in
	// this process contends like another process would.
	if err := tryLock(p); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("locking %s while held: %v, want EWOULDBLOCK", p, err)
	}
	if len(cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(cleanups))
	}
	if err := cleanups[0](context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tryLock(p); err != nil {
		t.Errorf("locking %s after the variant: %v, want it free", p, err)
	}
}

func tryLock(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
}
