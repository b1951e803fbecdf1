package diag

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/runtime"
)

// TestCollectOnDockerd runs Collect on a real, healthy dockerd: every piece
// of both daemons must be there, and both must still run afterwards (the
// SIGUSR1s and strace do not hurt them).
func TestCollectOnDockerd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real dockerd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := runtime.NewDockerd(runtime.DockerdOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sb.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dpid, cpid := sb.PID(), sb.ContainerdPID()

	dir := t.TempDir()
	began := time.Now()
	files, err := Collect(ctx, sb, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collected %d files in %s", len(files), time.Since(began).Round(time.Millisecond))
	if errs, err := os.ReadFile(filepath.Join(dir, ErrorsFile)); err == nil {
		t.Errorf("pieces failed on a healthy dockerd:\n%s", errs)
	}
	contains := map[string]string{
		"dockerd-goroutines.txt":        "goroutine ",
		"dockerd-heap.pb.gz":            "\x1f\x8b", // gzip magic
		"dockerd-tasks.txt":             "state ",
		"dockerd-strace.txt":            "# strace -f",
		"dockerd-log-tail.txt":          "level=",
		"containerd-goroutines.txt":     "goroutine ",
		"containerd-heap.pb.gz":         "\x1f\x8b",
		"containerd-tasks.txt":          "state ",
		"containerd-strace.txt":         "# strace -f",
		"containerd-sigusr1-stacks.log": "goroutine ",
	}
	var sigusr1 string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "dockerd-goroutine-stacks-") {
			sigusr1 = f
		}
	}
	if sigusr1 == "" {
		t.Errorf("no dockerd SIGUSR1 dump among %v", files)
	} else {
		contains[filepath.Base(sigusr1)] = "DumpStacks"
	}
	for name, want := range contains {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s does not contain %q: %.200q", name, want, data)
		}
	}
	if sb.PID() != dpid || sb.ContainerdPID() != cpid {
		t.Errorf("daemons changed during diagnostics: dockerd %d -> %d, containerd %d -> %d", dpid, sb.PID(), cpid, sb.ContainerdPID())
	}
	for _, pid := range []int{dpid, cpid} {
		assertUntraced(t, pid)
	}
}
