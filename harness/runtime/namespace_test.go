package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNamespaceIsPrivateAndReachable checks the sandbox namespace's
// promises without a daemon: the fixed runtime paths are private tmpfs
// inside and untouched outside; a mount the harness makes below the root
// afterwards reaches the inside; a mount made inside never reaches the
// host; a process started inside is found by cleanup although its command
// line names nothing of the root, and cleanRoot leaves nothing.
func TestNamespaceIsPrivateAndReachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := newRoot(Containerd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cleanRoot(context.Background(), root, t.Logf) })
	ns, err := startNamespace(ctx, root, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.close() })
	inside := func() string {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(ns.pid()), "mountinfo"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, p := range privatePaths {
		if !strings.Contains(inside(), " "+p+" ") || !strings.Contains(inside(), " - tmpfs "+nsTag(root)+" ") {
			t.Errorf("no private tmpfs on %s inside:\n%s", p, inside())
		}
	}
	if host, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(host), nsTag(root)) {
		t.Errorf("the namespace's tmpfs shows on the host")
	}

	// The harness mounts below the root after the namespace exists.
	later := filepath.Join(root, "later")
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("relapse-test-later", later, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(inside(), " "+later+" ") {
		t.Errorf("a mount the harness made below the root after the start is not visible inside")
	}
	// A mount made inside stays inside.
	within := filepath.Join(root, "within")
	if err := os.Mkdir(within, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ns.run(ctx, "mount", "-t", "tmpfs", "relapse-test-within", within); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(inside(), " "+within+" ") {
		t.Fatalf("the mount made inside is not there")
	}
	if host, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(host), " "+within+" ") {
		t.Errorf("a mount made inside the namespace leaked to the host")
	}

	// A process inside, whose command line does not name the root.
	name, args := ns.command("sleep", []string{"600"}, true)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	var found bool
	for range 100 {
		procs, err := procsUnder(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			found = found || p.pid == cmd.Process.Pid
		}
		if found {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !found {
		t.Fatalf("procsUnder does not list sleep %d, started in the namespace", cmd.Process.Pid)
	}
	if err := cleanRoot(ctx, root, testLogf(t)); err != nil {
		t.Fatal(err)
	}
	if err := ns.close(); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, root)
	if unix.Kill(cmd.Process.Pid, 0) == nil {
		if st, err := procStartTime(cmd.Process.Pid); err == nil {
			t.Errorf("sleep %d survived cleanRoot (start %d)", cmd.Process.Pid, st)
		}
	}
}
