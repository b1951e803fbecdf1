package probe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// childMemoryCgroup makes a memory cgroup below this process' own for the
// test's duration, or skips the test where it cannot (not root, or the
// memory controller not enabled below). It is removed at cleanup, after
// the test's processes in it have been reaped.
func childMemoryCgroup(t *testing.T) MemoryCgroup {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a cgroup")
	}
	own, err := FindMemoryCgroup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(own.Dir, fmt.Sprintf("relapse-probe-test-%d-%s", os.Getpid(), t.Name()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a child cgroup under %s: %v", own.Dir, err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing test cgroup: %v", err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, memoryCgroupFiles[own.Version][0])); err != nil {
		t.Skipf("memory controller not enabled in child cgroups of %s", own.Dir)
	}
	return MemoryCgroup{Version: own.Version, Path: own.Path + "/" + filepath.Base(dir), Dir: dir}
}

// The source holds the process and the cgroup it found: it asks pid once
// while that process lives, and when the PID number passes to a process in
// another cgroup, it reads that cgroup.
func TestCgroupMemoryFollowsAReusedPID(t *testing.T) {
	child := childMemoryCgroup(t)
	own, err := FindMemoryCgroup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	first := startSleeper(t)
	// Registered after the cgroup's removal, so it runs first: the cgroup
	// can go once its process is reaped.
	t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
	if err := os.WriteFile(filepath.Join(child.Dir, "cgroup.procs"), []byte(strconv.Itoa(first.Process.Pid)), 0o644); err != nil {
		t.Fatalf("moving the sleeper into %s: %v", child.Dir, err)
	}
	second := startSleeper(t)

	fake := newFakeProcRoot(t)
	const pid = 4242
	fake.point(pid, first.Process.Pid)
	asked := 0
	src, err := cgroupMemoryAt(fake.root, "pod", func() int { asked++; return pid })
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	collect := func() string {
		t.Helper()
		v, err := src.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// A sleeper moved into a fresh cgroup brings no charges with it
		// (v1 moves none by default): its usage may read 0.
		if len(v) != 6 {
			t.Fatalf("Collect = %v, want six values", v)
		}
		h, ok := src.holding.held()
		if !ok {
			t.Fatal("nothing held after a sample")
		}
		return h.cg.Dir
	}
	for range 3 {
		if dir := collect(); dir != child.Dir {
			t.Fatalf("reads %s, want the first process' cgroup %s", dir, child.Dir)
		}
	}
	if asked != 1 {
		t.Errorf("pid asked %d times over 3 samples of a live process, want once", asked)
	}
	_ = first.Process.Kill()
	_ = first.Wait()
	fake.point(pid, second.Process.Pid)
	if dir := collect(); dir != own.Dir {
		t.Fatalf("after the PID passed to a process in %s the source reads %s", own.Dir, dir)
	}
}

// A file missing from a cgroup that exists is an error to show (here, a
// kernel without kmem accounting would lack memory.kmem.usage_in_bytes),
// not a cgroup gone.
func TestCgroupMemoryMissingFileIsAnError(t *testing.T) {
	dir := writeFiles(t, map[string]string{"memory.usage_in_bytes": "1\n"})
	files, err := holdCgroupFiles(MemoryCgroup{Version: CgroupV1, Dir: dir})
	if err == nil || goneErr(err) {
		t.Fatalf("holding a cgroup without its kmem file: %v (%d files), want an error that is not 'gone'", err, len(files))
	}
	if _, err := holdCgroupFiles(MemoryCgroup{Version: CgroupV1, Dir: filepath.Join(dir, "removed")}); !goneErr(err) {
		t.Fatalf("holding a cgroup that is not there: %v, want 'gone'", err)
	}
}
