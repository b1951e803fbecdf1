package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/procfs"
	"github.com/relapse-dev/relapse/harness/wait"
	"golang.org/x/sys/unix"
)

// runcRootGlobs find the runc state directories (runc --root <dir>) an
// instance's containers live in: containerd's CRI runtimes are configured
// with Root under state/runc*, dockerd's runc keeps its state under
// exec/runtime-<name>; each runc root holds <namespace>/<id>/state.json.
var runcRootGlobs = []string{
	"state/runc*/*/*/state.json",
	"exec/runtime-*/*/*/state.json",
}

// nsRuncRootGlobs find runc state a runtime kept at its default paths,
// which live in the sandbox's private /run (the runc v2 shim's default
// root is /run/containerd/runc/<namespace>, e.g. a user's config.toml
// without a Root); they are read through /proc/<member>/root.
var nsRuncRootGlobs = []string{
	"run/containerd/runc/*/*/state.json",
}

// cleanRoot stops everything that belongs to an instance root and removes
// the root: containers (through runc's state, below the root or in the
// sandbox's private /run), the processes of the sandbox (its namespace's
// members and whatever refers to the root, with their descendants: daemons,
// shims, runc, containers), every mount below the root, and finally the
// root itself. Killing the namespace's last process takes its private
// mounts (the tmpfs over /run/containerd, container rootfs) with it. The daemon is expected to be down
// already; cleanRoot works the same after a graceful stop, a crash, or the
// death of the harness process that owned the root.
func cleanRoot(ctx context.Context, root string, logf func(string, ...any)) error {
	root = filepath.Clean(root)
	if !strings.HasPrefix(root, TempBase+"/") {
		return fmt.Errorf("cleanup: refusing to clean %s: not below %s", root, TempBase)
	}
	var errs []error
	if err := killContainers(ctx, root, logf); err != nil {
		errs = append(errs, err)
	}
	if err := killProcsUnder(ctx, root, logf); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(root, logf); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Removing files below a live mount would reach into whatever is
		// mounted there; leave the root for a later Sweep.
		return fmt.Errorf("cleanup %s: %w", root, errors.Join(errs...))
	}
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("cleanup %s: remove: %w", root, err)
	}
	return nil
}

// runcState is the part of runc's state.json cleanup needs.
type runcState struct {
	InitProcessPid int               `json:"init_process_pid"`
	CgroupPaths    map[string]string `json:"cgroup_paths"`
}

// killContainers kills every container recorded in the root's runc state
// dirs with `runc delete --force` (which kills all processes of the
// container's cgroup and removes the cgroup), falling back to killing the
// cgroup's processes directly when runc cannot.
func killContainers(ctx context.Context, root string, logf func(string, ...any)) error {
	var states []string
	for _, g := range runcRootGlobs {
		m, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return fmt.Errorf("containers: %w", err)
		}
		states = append(states, m...)
	}
	if view := nsView(root); view != "" {
		for _, g := range nsRuncRootGlobs {
			m, err := filepath.Glob(filepath.Join(view, g))
			if err != nil {
				return fmt.Errorf("containers: %w", err)
			}
			states = append(states, m...)
		}
	}
	if len(states) == 0 {
		return nil
	}
	runc, lookErr := exec.LookPath("runc")
	var errs []error
	for _, st := range states {
		dir := filepath.Dir(st)
		id, runcRoot := filepath.Base(dir), filepath.Dir(dir)
		if lookErr == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			out, err := exec.CommandContext(cctx, runc, "--root", runcRoot, "delete", "--force", id).CombinedOutput()
			cancel()
			if err == nil {
				logf("cleanup: killed container %s (runc --root %s delete --force)", id, runcRoot)
				continue
			}
			logf("cleanup: runc delete --force %s: %v: %s; killing its cgroup instead", id, err, strings.TrimSpace(string(out)))
		}
		if err := killContainerCgroup(st); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", id, err))
			continue
		}
		logf("cleanup: killed container %s through its cgroup", id)
	}
	return errors.Join(errs...)
}

// killContainerCgroup SIGKILLs every process in the cgroups runc recorded
// for a container, and its init process.
func killContainerCgroup(stateFile string) error {
	data, err := os.ReadFile(stateFile)
	if err != nil {
		return err
	}
	var st runcState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", stateFile, err)
	}
	pids := map[int]bool{}
	if st.InitProcessPid > 0 {
		pids[st.InitProcessPid] = true
	}
	for _, p := range st.CgroupPaths {
		f, err := os.Open(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			continue // controller not mounted or cgroup gone
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && pid > 0 {
				pids[pid] = true
			}
		}
		f.Close()
	}
	for pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	if err := waitGone(context.Background(), keys(pids), 5*time.Second); err != nil {
		return err
	}
	for _, p := range st.CgroupPaths {
		_ = os.Remove(p) // an empty cgroup dir; fails harmlessly when busy
	}
	return nil
}

func keys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// procRef is a process that refers to an instance root.
type procRef struct {
	pid  int
	args []string
}

// procsUnder lists the processes that live in root's private mount
// namespace (see nsMembers) or whose command line or working directory
// refers to root (daemons: their config is there; shims: their -address is;
// runc: its --root is) and all their descendants (a shim's container
// processes, whatever runc state dir they were started with). The command
// line of a task in uninterruptible sleep is not read (that can block); such
// a task is listed only as a descendant, and SIGKILL reaches it only once
// whatever it waits for is released.
func procsUnder(root string) ([]procRef, error) {
	all, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	prefix := root + "/"
	children := map[int][]int{}
	args := map[int][]string{}
	var matched []int
	type live struct {
		p  procfs.Proc
		st procfs.ProcStat
	}
	var alive []live
	var pids []int
	inD := map[int]bool{}
	for _, p := range all {
		if p.PID == self {
			continue
		}
		st, err := p.Stat()
		if err != nil || st.State == "Z" || st.State == "X" {
			continue
		}
		alive = append(alive, live{p, st})
		pids = append(pids, p.PID)
		inD[p.PID] = st.State == "D"
	}
	members := nsMembers(root, pids, inD)
	for _, l := range alive {
		p, st := l.p, l.st
		children[st.PPID] = append(children[st.PPID], p.PID)
		args[p.PID] = []string{"[" + st.Comm + "]"}
		if members[p.PID] {
			matched = append(matched, p.PID)
			if st.State != "D" {
				if cmdline, err := p.CmdLine(); err == nil && len(cmdline) > 0 {
					args[p.PID] = cmdline
				}
			}
			continue
		}
		if st.State == "D" {
			continue
		}
		cmdline, err := p.CmdLine()
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a kernel thread
		}
		args[p.PID] = cmdline
		match := false
		for _, a := range cmdline {
			if a == root || strings.Contains(a, prefix) {
				match = true
				break
			}
		}
		if !match {
			if cwd, err := p.Cwd(); err == nil && (cwd == root || strings.HasPrefix(cwd, prefix)) {
				match = true
			}
		}
		if match {
			matched = append(matched, p.PID)
		}
	}
	seen := map[int]bool{}
	var out []procRef
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		out = append(out, procRef{pid: pid, args: args[pid]})
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for _, pid := range matched {
		walk(pid)
	}
	return out, nil
}

// killProcsUnder SIGKILLs every process of root (procsUnder) and waits for
// them to be gone.
func killProcsUnder(ctx context.Context, root string, logf func(string, ...any)) error {
	var last []procRef
	for range 5 { // a shim may be starting while we kill: look again
		procs, err := procsUnder(root)
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
		last = procs
		pids := make([]int, 0, len(procs))
		for _, p := range procs {
			logf("cleanup: SIGKILL %d %s", p.pid, strings.Join(p.args, " "))
			_ = unix.Kill(p.pid, unix.SIGKILL)
			pids = append(pids, p.pid)
		}
		// The shims' sockets are in the namespace's private /run/containerd/s
		// and go with it: nothing of the host's /run/containerd is touched.
		if err := waitGone(ctx, pids, 10*time.Second); err != nil {
			return fmt.Errorf("processes: %w", err)
		}
	}
	pids := make([]string, 0, len(last))
	for _, p := range last {
		pids = append(pids, strconv.Itoa(p.pid))
	}
	return fmt.Errorf("processes: still appearing after 5 rounds of SIGKILL: %s", strings.Join(pids, ", "))
}

// waitGone waits until none of pids is alive (zombies count as gone: their
// parent may be an init that never reaps).
func waitGone(ctx context.Context, pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var alive []string
		for _, pid := range pids {
			if _, err := procStartTime(pid); err == nil {
				alive = append(alive, strconv.Itoa(pid))
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still alive %s after SIGKILL (uninterruptible sleep?)", strings.Join(alive, ", "))
		}
		if err := wait.Sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s to die: %w", strings.Join(alive, ", "), err)
		}
	}
}

// mountsUnder lists the mount points at or below root, deepest and most
// recent first, from this process' mountinfo.
func mountsUnder(root string) ([]string, error) {
	mounts, err := procfs.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	type m struct {
		id    int
		point string
	}
	var under []m
	for _, mi := range mounts {
		p := unescapeMountPath(mi.MountPoint)
		if p == root || strings.HasPrefix(p, root+"/") {
			under = append(under, m{mi.MountID, p})
		}
	}
	sort.Slice(under, func(i, j int) bool {
		di, dj := strings.Count(under[i].point, "/"), strings.Count(under[j].point, "/")
		if di != dj {
			return di > dj
		}
		return under[i].id > under[j].id
	})
	out := make([]string, len(under))
	for i, u := range under {
		out[i] = u.point
	}
	return out, nil
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder unmounts everything mounted at or below root, deepest first,
// lazily (MNT_DETACH) where a plain unmount is refused. Stacked mounts (a
// bind of a directory onto itself) take several passes.
func unmountUnder(root string, logf func(string, ...any)) error {
	for pass := 0; pass < 20; pass++ {
		points, err := mountsUnder(root)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		progress := false
		var errs []error
		for _, p := range points {
			err := unix.Unmount(p, 0)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, fs.ErrNotExist) {
				continue // went with a parent unmounted before it
			}
			if err != nil {
				err = unix.Unmount(p, unix.MNT_DETACH)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
				continue
			}
			progress = true
			logf("cleanup: unmounted %s", p)
		}
		if !progress && len(errs) > 0 {
			return fmt.Errorf("mounts left below %s: %w", root, errors.Join(errs...))
		}
	}
	points, _ := mountsUnder(root)
	return fmt.Errorf("mounts left below %s after 20 passes: %s", root, strings.Join(points, ", "))
}
