package runtime

import (
	"fmt"
	"io/fs"
	"os"
	"time"
)

// ownContainerdWithin bounds the wait for dockerd's supervisor to record
// the containerd it started (it does so before dockerd answers, but a
// slow machine may write the pidfile a moment late).
const ownContainerdWithin = 5 * time.Second

// ownContainerd checks that dockerd runs the containerd it manages, not
// one it found on a default socket: a live pid in the sandbox's pidfile,
// its socket below the root, and the same mount namespace as dockerd. A
// dockerd attached to another containerd would put its containers there
// and leave the memory guard watching nothing.
func (s *DockerdSandbox) ownContainerd() (int, error) {
	deadline := time.Now().Add(ownContainerdWithin)
	for {
		pid := s.ContainerdPID()
		err := s.checkOwnContainerd(pid)
		if err == nil {
			return pid, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("dockerd does not run its own containerd: %w; last lines of %s:\n%s", err, s.layout.Log, logTail(s.layout.Log, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *DockerdSandbox) checkOwnContainerd(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("no live containerd pid in %s", s.layout.ContainerdPIDFile())
	}
	if fi, err := os.Stat(s.layout.ContainerdAddress()); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("containerd pid %d, but no socket at %s (%v)", pid, s.layout.ContainerdAddress(), err)
	}
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		return fmt.Errorf("containerd pid %d: %w", pid, err)
	}
	ours, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", s.d.pid()))
	if err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	if theirs != ours {
		return fmt.Errorf("containerd pid %d lives in mount namespace %s, dockerd in %s", pid, theirs, ours)
	}
	return nil
}
