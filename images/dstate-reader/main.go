// Command dstate-reader reads one file on a hung FUSE mount from its main
// thread and so becomes the unkillable container of the dockerd-kill-dstate
// incident: PID 1 of the container sits in the kernel's request_wait_answer,
// /proc/<pid>/stat shows D, and SIGKILL cannot end it until the FUSE server
// answers or the connection is aborted.
//
// A FUSE read first waits interruptibly (state S) and only turns
// uninterruptible once a signal arrives. By default the reader nudges its own
// main thread with SIGURG (which Go ignores) once the read is blocked, so the
// task is in D from the start instead of from the first docker stop.
//
// Build: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" ./images/dstate-reader
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// init runs on the main thread; locking keeps main (and its read) there, so
// the container's PID is the blocked task.
func init() { runtime.LockOSThread() }

func main() {
	path := flag.String("path", envOr("DSTATE_PATH", "/mnt/hang/file"), "file to read (env DSTATE_PATH)")
	nudge := flag.Bool("nudge", true, "signal the blocked main thread so it waits uninterruptibly (D) rather than interruptibly (S)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "dstate-reader: unexpected arguments %q; use -path\n", flag.Args())
		os.Exit(2)
	}

	tid := unix.Gettid()
	fmt.Fprintf(os.Stderr, "dstate-reader: pid %d tid %d reading %s\n", os.Getpid(), tid, *path)
	if *nudge {
		go nudgeIntoD(tid)
	}
	n, err := readOnce(*path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dstate-reader: read %s: %v\n", *path, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "dstate-reader: read %d bytes, exiting\n", n)
}

// readOnce opens and reads path with raw syscalls on the calling (main)
// thread, bypassing the runtime poller.
func readOnce(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// nudgeIntoD sends SIGURG to the main thread while it sleeps interruptibly in
// read(2), which moves a FUSE request wait into its killable (D) phase.
func nudgeIntoD(tid int) {
	pid := os.Getpid()
	for {
		time.Sleep(50 * time.Millisecond)
		state, inRead := mainThread(pid, tid)
		switch {
		case state == "D":
			fmt.Fprintf(os.Stderr, "dstate-reader: main thread in D\n")
			return
		case state == "S" && inRead:
			_ = unix.Tgkill(pid, tid, unix.SIGURG)
		case state == "":
			return
		}
	}
}

// mainThread returns the task's state letter and whether it is inside read(2).
func mainThread(pid, tid int) (string, bool) {
	dir := fmt.Sprintf("/proc/%d/task/%d/", pid, tid)
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return "", false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return "", false
	}
	state := string(stat[i+2])
	sc, err := os.ReadFile(dir + "syscall")
	if err != nil {
		return state, false
	}
	fields := strings.Fields(string(sc))
	return state, len(fields) > 0 && fields[0] == fmt.Sprint(unix.SYS_READ)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
