package crash

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// NetNS is one OS thread living in a private network namespace. A daemon
// started from it (NetNS.Do(func() { sb.Start(ctx) })) is forked from that
// thread and so born in the namespace, with everything it starts: dockerd's
// user-defined bridges, veths, its sysctl writes (ip_forward) and its
// containerd stay off the host's network and vanish with the namespace's
// last process. Nothing is mounted, so nothing needs unmounting.
//
// Why a thread and not unshare(1): the runtime sandbox execs its daemon
// itself. runtime.DockerdSandbox starts the daemon with Pdeathsig on the
// thread that forked it, so the thread must outlive the daemon: Close it
// only after the daemon is stopped (or accept that closing kills it).
type NetNS struct {
	reqs chan func()
	quit chan struct{}
	done chan struct{}
	once sync.Once
	ino  uint64
}

// NewNetNS starts the thread and moves it into a new network namespace with
// its loopback up. It needs CAP_SYS_ADMIN (root).
func NewNetNS() (*NetNS, error) {
	n := &NetNS{reqs: make(chan func()), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go n.run(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NetNS) run(ready chan<- error) {
	goruntime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// Never move the main thread: /proc/<pid>/ns/net shows its
		// namespace (so the process would look moved), and Go never ends
		// it. Hand over to a goroutine that locks its own thread while
		// this one holds the main thread, so it cannot land there.
		locked := make(chan struct{})
		go func() {
			goruntime.LockOSThread()
			close(locked)
			n.serve(ready)
		}()
		<-locked
		goruntime.UnlockOSThread()
		return
	}
	n.serve(ready)
}

// serve moves the calling, locked, non-main thread into a new network
// namespace and runs requests on it until Close.
func (n *NetNS) serve(ready chan<- error) {
	defer close(n.done)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		goruntime.UnlockOSThread() // unchanged thread: give it back
		ready <- fmt.Errorf("private network namespace: unshare(CLONE_NEWNET): %w (needs root)", err)
		return
	}
	// From here on the thread is never unlocked: Go ends it with this
	// goroutine instead of handing it, namespace and all, to other code.
	if err := loopbackUp(); err != nil {
		ready <- fmt.Errorf("private network namespace: %w", err)
		return
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st); err != nil {
		ready <- fmt.Errorf("private network namespace: %w", err)
		return
	}
	n.ino = st.Ino
	ready <- nil
	for {
		select {
		case f := <-n.reqs:
			f()
		case <-n.quit:
			return
		}
	}
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// Inode identifies the namespace (the inode of its /proc/<pid>/ns/net), so
// a test or a report can check a process lives in it.
func (n *NetNS) Inode() uint64 { return n.ino }

// Do runs f on the namespace's thread and waits for it. Processes f forks
// (os/exec) are born in the namespace. f must not call Do (it would wait on
// itself).
func (n *NetNS) Do(f func()) error {
	fin := make(chan struct{})
	select {
	case n.reqs <- func() { defer close(fin); f() }:
	case <-n.done:
		return errors.New("private network namespace is closed")
	}
	<-fin
	return nil
}

// Close ends the thread. Daemons it started get their parent-death signal
// if they still run; the namespace goes with its last process. Safe to call
// twice.
func (n *NetNS) Close() {
	n.once.Do(func() { close(n.quit) })
	<-n.done
}

// NetNSInode returns the network namespace inode of a process, to tell
// which namespace it lives in.
func NetNSInode(pid int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return 0, fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	return st.Ino, nil
}
