package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// privatePaths are the fixed paths a runtime resolves whatever its
// configuration says: dockerd dials /run/containerd/containerd.sock when a
// containerd answers there (and then starts none of its own), containerd
// 1.6 shims put their sockets in /run/containerd/s, the runc v2 shim's
// default root is /run/containerd/runc, dockerd's plugins and CLI defaults
// live in /run/docker and /etc/docker, containerd's in /etc/containerd.
// /var/run/docker* is covered through /run (Debian's /var/run is a
// symlink to /run; see privateDirs). Each gets a fresh tmpfs inside the
// sandbox's mount namespace, so a sandbox can neither see nor change the
// host's.
var privatePaths = []string{"/run/containerd", "/run/docker", "/etc/docker", "/etc/containerd"}

// nsReadyWithin bounds the holder's setup (a few mounts).
const nsReadyWithin = 10 * time.Second

// holderScript runs as the namespace's first process, right after
// unshare(1) made the namespaces: it mounts the private tmpfs (named with
// the sandbox's tag, which is how cleanup recognizes the namespace),
// brings the loopback up when there is a private network namespace, says
// "ready" and then only holds the namespaces until it is killed.
const holderScript = `set -eu
tag=$1; net=$2; shift 2
for d in "$@"; do mount -t tmpfs -o mode=0755 "$tag" "$d"; done
if [ -S /run/docker.sock ]; then mount --bind /dev/null /run/docker.sock; fi
if [ "$net" = 1 ]; then ip link set lo up; fi
echo ready
exec sleep infinity
`

// namespace is the private world a sandbox's daemons run in: a mount
// namespace (always) and a network namespace (dockerd), held open by a
// small holder process for the sandbox's whole life so that a restarted
// daemon finds the /run its shims and containers use, as on a real machine
// that did not reboot.
//
// Propagation: the new namespace's mounts are all slaves of the host's, so
// nothing mounted inside (container rootfs, dockerd's data-root bind, the
// tmpfs above) reaches the host, while what the host mounts in a shared
// mount reaches the namespace. The host's / may be private (it is on
// machines without systemd), so the sandbox root is first made a shared
// bind mount of itself in a peer group of its own: mounts the harness
// makes below the root after the daemon started (a FUSE hang, a CSI-like
// shared directory) appear inside, and nothing else of the host's does.
//
// The namespaces are entered with util-linux unshare(1) and nsenter(1)
// rather than SysProcAttr.Unshareflags or a re-exec of the harness binary:
// Go's CLONE_NEWNS makes the new namespace's / rprivate (cutting the
// propagation the FUSE hang needs), and a re-exec hook would have to be
// wired into every binary that starts sandboxes (relapse, each test
// binary, the Ginkgo suites). util-linux is essential on Debian.
type namespace struct {
	root string
	// tag is the source name of the private tmpfs mounts: a process whose
	// mount namespace has a tmpfs named tag lives in this sandbox.
	tag string
	net bool
	cmd *exec.Cmd
	// made lists the mount points that did not exist on the host and were
	// created for the tmpfs; they are removed again when empty.
	made []string
	done chan struct{}
}

// nsTag is the tmpfs source name that marks root's namespace.
func nsTag(root string) string { return "relapse-ns-" + filepath.Base(root) }

// startNamespace makes root a shared mount of its own and starts the
// holder of a new mount namespace (and network namespace when net). The
// holder gets SIGKILL with the harness (Pdeathsig); the namespace itself
// lives on while any daemon, shim or container is in it, and cleanup
// finds them all by the tag.
func startNamespace(ctx context.Context, root string, net bool) (*namespace, error) {
	n := &namespace{root: root, tag: nsTag(root), net: net, done: make(chan struct{})}
	if err := shareRoot(root); err != nil {
		return nil, err
	}
	dirs, err := n.privateDirs()
	if err != nil {
		return nil, err
	}
	args := []string{"--mount", "--propagation", "slave"}
	if net {
		args = append(args, "--net")
	}
	netArg := "0"
	if net {
		netArg = "1"
	}
	args = append(args, "--", "/bin/sh", "-c", holderScript, "relapse-ns", n.tag, netArg)
	args = append(args, dirs...)
	cmd := exec.Command("unshare", args...)
	cmd.Dir = root
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("namespace holder: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(root, "namespace.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("namespace holder log: %w", err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the forking thread ends: fork from a locked
	// thread that Go keeps (it is unlocked, not ended, afterwards).
	goruntime.LockOSThread()
	err = cmd.Start()
	goruntime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("namespace holder: start unshare: %w", err)
	}
	n.cmd = cmd
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("holder said %q", line)
		}
		ready <- err
		_ = cmd.Wait()
		close(n.done)
	}()
	t := time.NewTimer(nsReadyWithin)
	defer t.Stop()
	select {
	case err = <-ready:
	case <-t.C:
		err = fmt.Errorf("not ready within %s", nsReadyWithin)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = n.close()
		return nil, fmt.Errorf("private namespace for %s: %w; holder log:\n%s", root, err, logTail(logFile.Name(), 10))
	}
	return n, nil
}

// privateDirs resolves privatePaths through symlinks (/var/run) and makes
// the mount points that are missing, remembering them.
func (n *namespace) privateDirs() ([]string, error) {
	var out []string
	for _, p := range privatePaths {
		if real, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			p = filepath.Join(real, filepath.Base(p))
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("private namespace: mount point %s: %w", p, err)
			}
			n.made = append(n.made, p)
		} else if err != nil {
			return nil, fmt.Errorf("private namespace: mount point %s: %w", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// shareRoot binds root onto itself and makes it rshared in a new peer
// group, so that mounts below it propagate into the namespaces made later
// (whose copies are slaves) and nowhere else. cleanRoot unmounts it.
func shareRoot(root string) error {
	steps := []struct {
		what  string
		src   string
		flags uintptr
	}{
		{"bind onto itself", root, unix.MS_BIND},
		{"make private", "", unix.MS_PRIVATE},
		{"make rshared", "", unix.MS_SHARED | unix.MS_REC},
	}
	for _, st := range steps {
		if err := unix.Mount(st.src, root, "", st.flags, ""); err != nil {
			return fmt.Errorf("private namespace: %s %s: %w", st.what, root, err)
		}
	}
	return nil
}

// pid is the holder's pid: nsenter --target enters its namespaces.
func (n *namespace) pid() int { return n.cmd.Process.Pid }

// command returns the argv that runs binary inside the namespaces. ownNet
// false leaves the network namespace to the caller: a daemon started from
// a thread the caller moved into a private network namespace of its own
// (crash.NetNS) stays there.
func (n *namespace) command(binary string, args []string, ownNet bool) (string, []string) {
	nsenter := []string{"--target", fmt.Sprint(n.pid()), "--mount", "--wd=" + n.root}
	if n.net && ownNet {
		nsenter = append(nsenter, "--net")
	}
	nsenter = append(nsenter, "--", binary)
	return "nsenter", append(nsenter, args...)
}

// run runs a command inside the mount namespace (for mount changes the
// harness makes there) and returns its error with its output.
func (n *namespace) run(ctx context.Context, args ...string) error {
	name, argv := n.command(args[0], args[1:], false)
	out, err := exec.CommandContext(ctx, name, argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s inside %s's namespace: %w: %s", strings.Join(args, " "), n.root, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// close kills the holder (the namespace lives on while a daemon, shim or
// container is in it: cleanup kills those first), reaps it, and removes
// the mount points it had to create when they are empty again.
func (n *namespace) close() error {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		select {
		case <-n.done:
		case <-time.After(killWait):
			return fmt.Errorf("namespace holder %d not reaped %s after SIGKILL", n.pid(), killWait)
		}
	}
	for _, p := range n.made {
		_ = os.Remove(p) // only when empty and unused by another sandbox
	}
	n.made = nil
	return nil
}

// threadInPrivateNet says whether the calling (locked) thread lives in
// another network namespace than the process' main thread.
func threadInPrivateNet() bool {
	var self, thread unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil || unix.Stat("/proc/thread-self/ns/net", &thread) != nil {
		return false
	}
	return self.Ino != thread.Ino
}

// ShareInside makes dir, a mount the harness made below sb's root after
// the daemon started, a shared mount inside sb's namespace too. Its copy
// there arrived as a slave of the harness' mount (or as a private mount,
// once the harness moved its own into a new peer group), and docker
// refuses bind-propagation=rshared from a mount that is not shared. Once
// shared inside, what a container mounts below it (a FUSE sidecar)
// propagates to the other containers binding it, within the namespace.
func ShareInside(ctx context.Context, sb Sandbox, dir string) error {
	l, ok := sb.(interface{ privateNS() *namespace })
	if !ok || l.privateNS() == nil {
		return fmt.Errorf("share %s inside the sandbox: %s sandbox has no private namespace", dir, sb.Kind())
	}
	return l.privateNS().run(ctx, "mount", "--make-shared", dir)
}

// MountInfoPath is the mountinfo of sb's daemon's namespace: what the
// daemon and its containers see mounted, which the harness' own
// /proc/self/mountinfo no longer shows (mounts made inside stay inside).
func MountInfoPath(sb Sandbox) string {
	return fmt.Sprintf("/proc/%d/mountinfo", sb.PID())
}
