package runtime

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// nsMembers lists the processes living in root's private mount namespace:
// the namespace holder, the daemons, and every shim, runc and helper they
// started there, whatever their command line says. A namespace is
// recognized by the tmpfs mounts named with root's tag (see namespace),
// read from the mountinfo of one process per mount namespace; a name that
// embeds the root's random part cannot belong to the host or to another
// sandbox. Tasks in uninterruptible sleep are counted by their namespace's
// inode alone. Container processes live in namespaces of their own and
// are found as descendants (procsUnder) or through runc's state.
func nsMembers(root string, pids []int, inD map[int]bool) map[int]bool {
	tag := nsTag(root)
	own := mntNS(os.Getpid())
	byNS := map[uint64][]int{}
	for _, pid := range pids {
		if ino := mntNS(pid); ino != 0 && ino != own {
			byNS[ino] = append(byNS[ino], pid)
		}
	}
	members := map[int]bool{}
	for _, group := range byNS {
		for _, pid := range group {
			if inD[pid] {
				continue
			}
			if hasTag(pid, tag) {
				for _, m := range group {
					members[m] = true
				}
			}
			break // one readable member tells for the whole namespace
		}
	}
	return members
}

// mntNS is the inode of a process' mount namespace (0 when unreadable).
func mntNS(pid int) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid), &st); err != nil {
		return 0
	}
	return st.Ino
}

// hasTag says whether pid's mountinfo shows a tmpfs named tag.
func hasTag(pid int, tag string) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	want := " - tmpfs " + tag + " "
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return true
		}
	}
	return false
}

// nsView is /proc/<pid>/root of a live member of root's namespace: the
// namespace's file system as its processes see it, private /run included.
// "" when the namespace has no process left (its tmpfs went with it).
func nsView(root string) string {
	all, err := procfs.AllProcs()
	if err != nil {
		return ""
	}
	var pids []int
	inD := map[int]bool{}
	for _, p := range all {
		st, err := p.Stat()
		if err != nil || st.State == "Z" || st.State == "X" {
			continue
		}
		pids = append(pids, p.PID)
		inD[p.PID] = st.State == "D"
	}
	for pid := range nsMembers(root, pids, inD) {
		if !inD[pid] {
			return fmt.Sprintf("/proc/%d/root", pid)
		}
	}
	return ""
}
