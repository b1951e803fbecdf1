package coexist_test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// snapshot is the host runtimes' state as a sorted list of lines, so two
// snapshots compare line by line and a difference reads as a diff.
type snapshot []string

// trees are the host runtimes' file trees.
var trees = []string{"/var/lib/docker", "/var/lib/containerd", "/etc/docker", "/run/containerd"}

// take records: the daemons' pids, every containerd namespace's containers
// and tasks (pid and status), the docker containers, the host shims, the
// /run/containerd/s listing, the mount table, the iptables rules of every
// table, and the trees' entries.
//
// Left out, because they change by themselves while a host runtime idles:
// timestamps (atime/mtime/ctime are never recorded), log files (*.log and
// dockerd's *-json.log grow with whatever the daemons or the witnesses
// print) and the contents of bbolt stores (*.db: the daemons rewrite pages
// in their own housekeeping; their names and sizes are still recorded).
// Mounts below /tmp/relapse are relapse's sandboxes', not the host's.
func take(hostContainerd, hostDockerd int) (snapshot, error) {
	var s snapshot
	add := func(format string, args ...any) { s = append(s, fmt.Sprintf(format, args...)) }
	add("pid containerd %d alive=%v", hostContainerd, alive(hostContainerd))
	add("pid dockerd %d alive=%v", hostDockerd, alive(hostDockerd))

	nss, err := cmdOutput("ctr", "namespaces", "ls", "-q")
	if err != nil {
		return nil, err
	}
	for _, ns := range strings.Fields(nss) {
		add("ctr namespace %s", ns)
		for _, what := range []string{"containers", "tasks"} {
			out, err := cmdOutput("ctr", "-n", ns, what, "ls")
			if err != nil {
				return nil, err
			}
			for _, l := range lines(out) {
				add("ctr %s %s: %s", ns, what, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	ps, err := cmdOutput("docker", "-H", dockerSock, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.Names}} {{.State}}")
	if err != nil {
		return nil, err
	}
	for _, l := range lines(ps) {
		add("docker container %s", l)
	}
	for _, pid := range hostShims() {
		add("shim %d", pid)
	}
	socks, _ := os.ReadDir("/run/containerd/s")
	for _, e := range socks {
		add("/run/containerd/s/%s", e.Name())
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for _, l := range lines(string(mi)) {
		f := strings.Fields(l)
		if len(f) < 5 || strings.HasPrefix(f[4], "/tmp/relapse") {
			continue
		}
		// Mount ids and parents are renumbered by nothing we do, but keep
		// the line readable: point, root, options, and what follows " - ".
		rest := l[strings.Index(l, " - ")+3:]
		add("mount %s %s %s %s", f[4], f[3], f[5], rest)
	}
	for _, table := range []string{"filter", "nat", "mangle", "raw"} {
		out, err := cmdOutput("iptables", "-t", table, "-S")
		if err != nil {
			return nil, err
		}
		for _, l := range lines(out) {
			add("iptables %s %s", table, l)
		}
	}
	for _, root := range trees {
		if err := walkTree(root, add); err != nil {
			return nil, err
		}
	}
	sort.Strings(s)
	return s, nil
}

func walkTree(root string, add func(string, ...any)) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return fmt.Errorf("walk %s: %w", p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile: the next snapshot tells
		}
		switch {
		case d.IsDir():
			add("tree %s/", p)
		case strings.HasSuffix(p, ".log"):
			add("tree %s (log)", p)
		case fi.Mode().IsRegular() && strings.HasSuffix(p, ".db"):
			add("tree %s size %d", p, fi.Size())
		case fi.Mode().IsRegular():
			sum := ""
			if isMetadata(p) && fi.Size() < 4<<20 {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("read %s: %w", p, err)
				}
				sum = fmt.Sprintf(" sha256 %x", sha256.Sum256(b))
			}
			add("tree %s size %d%s", p, fi.Size(), sum)
		default:
			add("tree %s %s", p, fi.Mode().Type())
		}
		return nil
	})
}

// isMetadata: the small files a runtime describes its state with (configs,
// specs, ids, addresses), as opposed to image layers' contents.
func isMetadata(p string) bool {
	base := filepath.Base(p)
	if strings.Contains(p, "/overlay2/") && strings.Contains(p, "/diff/") || strings.Contains(p, "/snapshots/") && strings.Contains(p, "/fs/") {
		return false
	}
	for _, ext := range []string{".json", ".toml", ".pid", ".conf"} {
		if strings.HasSuffix(base, ext) {
			return true
		}
	}
	switch base {
	case "address", "hostname", "hosts", "resolv.conf", "shim-binary-path", "init.pid", "link", "lower":
		return true
	}
	return false
}

// diff lists the lines only in a (-) and only in b (+).
// settled takes the host state once it has stopped changing by itself,
// three equal snapshots a second apart, or the last of 30: the witnesses'
// `ctr images import` leaves the archive's OCI index blob unreferenced, and
// the host containerd's garbage collector removes it when it next runs,
// which can be after relapse has started.
func settled(hostContainerd, hostDockerd int) (snapshot, error) {
	last, err := take(hostContainerd, hostDockerd)
	if err != nil {
		return nil, err
	}
	for same, i := 0, 0; same < 2 && i < 30; i++ {
		time.Sleep(time.Second)
		now, err := take(hostContainerd, hostDockerd)
		if err != nil {
			return nil, err
		}
		if len(diff(last, now)) == 0 {
			same++
		} else {
			same = 0
		}
		last = now
	}
	return last, nil
}

func diff(a, b snapshot) []string {
	in := func(s snapshot) map[string]int {
		m := map[string]int{}
		for _, l := range s {
			m[l]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range a {
		if mb[l] == 0 {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if ma[l] == 0 {
			out = append(out, "+ "+l)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func cmdOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
