//go:build e2e

package workload

// The kill-loop e2e test's own dockerd launcher (startDebugDockerd in
// killloop_e2e_test.go runs arbitrary dockerd binaries with its own flags on
// a root it picks). It is the last user of this code: every other test in the
// package runs relapse's sandboxes (harness/runtime, see daemons_test.go).
// Delete this file when killloop_e2e_test.go moves onto runtime.NewDockerd
// (Binary: bin, ConfigFile: runtime.TemplateConfig; debug is always on there,
// and Root, Address, PID and Client replace root, sock, d.cmd and cli).

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testRoot makes a private root and registers its teardown: kill every
// process whose command line names the root (daemons, shims) and their
// children (containers), unmount everything below it, remove it.
func testRoot(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("/tmp/relapse", "wl-"+hex.EncodeToString(b[:]))
	if err := os.MkdirAll(root, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range pidsNaming(root) {
			killTree(pid)
		}
		unmountBelow(t, root)
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("remove %s: %v", root, err)
		}
	})
	return root
}

// pidsNaming lists processes whose command line contains s.
func pidsNaming(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// children lists pid's direct children.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// killTree SIGKILLs pid's descendants and then pid.
func killTree(pid int) {
	for _, c := range children(pid) {
		killTree(c)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// unmountBelow detaches every mount at or below root, deepest first.
func unmountBelow(t *testing.T, root string) {
	t.Helper()
	for range 5 {
		mounts := mountsBelow(root)
		if len(mounts) == 0 {
			return
		}
		for _, m := range mounts {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				t.Logf("unmount %s: %v", m, err)
			}
		}
	}
	if m := mountsBelow(root); len(m) > 0 {
		t.Errorf("still mounted below %s: %v", root, m)
	}
}

func mountsBelow(root string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == root || strings.HasPrefix(fields[4], root+"/")) {
			out = append(out, fields[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// daemon is a started daemon process with its log.
type daemon struct {
	root, address, log string
	cmd                *exec.Cmd
	done               chan error
}

// start runs a daemon and registers a graceful stop (SIGTERM, 20 s, SIGKILL)
// that runs before testRoot's teardown.
func start(t *testing.T, root, address string, name string, args ...string) *daemon {
	t.Helper()
	d := &daemon{root: root, address: address, log: filepath.Join(root, filepath.Base(name)+".log"), done: make(chan error, 1)}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(name, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { d.done <- d.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop in 20s after SIGTERM; killing it", name)
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			tail, _ := exec.Command("tail", "-n", "40", d.log).Output()
			t.Logf("%s log tail:\n%s", name, tail)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("unix", address)
		if err == nil {
			c.Close()
			return d
		}
		select {
		case err := <-d.done:
			tail, _ := exec.Command("tail", "-n", "40", d.log).Output()
			t.Fatalf("%s exited before listening on %s: %v\n%s", name, address, err, tail)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after 30s", name, address)
		}
	}
}
