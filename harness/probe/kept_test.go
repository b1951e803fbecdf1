package probe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A kept procfs file read again from offset 0 is generated again: this
// process' rss, read through one descriptor before and after touching
// 64 MiB, has grown.
func TestKeptFileRereadsFreshValues(t *testing.T) {
	k, err := openKept("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	rss := func() uint64 {
		t.Helper()
		b, err := k.read()
		if err != nil {
			t.Fatal(err)
		}
		v, err := statUint(b, 24)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := rss()
	ballast := make([]byte, 64<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	after := rss()
	runtime.KeepAlive(ballast)
	if grown := (after - before) * uint64(os.Getpagesize()); after < before || grown < 60<<20 {
		t.Fatalf("rss %d -> %d pages through one descriptor after touching 64 MiB, want >= 60 MiB more", before, after)
	}
}

// A file longer than the first buffer is read whole, and a shorter
// rewrite is read without the old tail.
func TestKeptFileReadsWholeFileAfterGrowing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	long := bytes.Repeat([]byte("0123456789abcdef"), 3*keptFileBuf/16+5)
	if err := os.WriteFile(p, long, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := openKept(p)
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	got, err := k.read()
	if err != nil || !bytes.Equal(got, long) {
		t.Fatalf("read %d bytes (%v), want the file's %d", len(got), err, len(long))
	}
	if err := os.WriteFile(p, []byte("short\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err = k.read(); err != nil || string(got) != "short\n" {
		t.Fatalf("after a rewrite read %q, %v; want %q", got, err, "short\n")
	}
}

// A kept file of a process that exited fails with an error goneErr knows,
// rather than reading whatever process gets the PID next.
func TestKeptFileOfAnExitedProcessIsGone(t *testing.T) {
	cmd := startSleeper(t)
	k, err := openKept(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	if _, err := k.read(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_, err = k.read()
	if err == nil || !goneErr(err) {
		t.Fatalf("read after exit: %v, want ESRCH", err)
	}
	if !strings.Contains(err.Error(), "/stat") {
		t.Errorf("error %q does not name the file", err)
	}
}

// The fd count from the fd directory's size (Linux 6.2 and later) is the
// count a listing gives, and the listing alone counts a directory's
// entries.
func TestKeptDirCountsExactly(t *testing.T) {
	d, err := openKeptDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	fast, err := d.count()
	if err != nil {
		t.Fatal(err)
	}
	listed, err := d.list()
	if err != nil {
		t.Fatal(err)
	}
	if fast != listed {
		t.Errorf("fd count %d from the directory's size, %d from listing it", fast, listed)
	}
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if again, err := d.count(); err != nil || again != fast+1 {
		t.Errorf("after opening a file the count is %d (%v), want %d", again, err, fast+1)
	}

	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	td, err := openKeptDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer td.close()
	for range 2 { // listed twice through one descriptor: it rewinds
		if n, err := td.list(); err != nil || n != 5 {
			t.Fatalf("listed %d entries (%v), want 5", n, err)
		}
	}
}

func TestGoneErr(t *testing.T) {
	for _, err := range []error{unix.ESRCH, unix.ENOENT, unix.ENODEV, errZombie, &os.PathError{Op: "pread", Path: "x", Err: unix.ESRCH}} {
		if !goneErr(err) {
			t.Errorf("goneErr(%v) = false", err)
		}
	}
	for _, err := range []error{unix.EACCES, unix.EIO, errors.New("no")} {
		if goneErr(err) {
			t.Errorf("goneErr(%v) = true", err)
		}
	}
}
