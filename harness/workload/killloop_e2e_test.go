//go:build e2e

package workload

// End-to-end check of the dockerd-kill-dstate pieces against real daemons:
// a private dockerd (20.10.24 from PATH and the cached 20.10.5), a container
// stuck in D on a fusehang mount, the kill loop, and the probes. Run with
//
//	go test -tags e2e -count=1 -v -run 'KillLoop|Sidecar' ./harness/workload/
//
// RELAPSE_KILLLOOP_DIAG=<dir> keeps goroutine summaries and the series.
// It reuses the private-daemon helpers of daemons_test.go.

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/fusehang"
	"github.com/relapse-dev/relapse/harness/probe"
)

// startDebugDockerd runs bin as a private dockerd with --debug (pprof on
// its API socket, NGoroutines/NFd in /info).
func startDebugDockerd(t *testing.T, bin string) (root, sock string, d *daemon, cli *client.Client) {
	t.Helper()
	if _, err := os.Stat("/run/containerd/containerd.sock"); err == nil {
		t.Fatal("/run/containerd/containerd.sock exists: dockerd 20.10 would use that system containerd instead of its own")
	}
	root = testRoot(t)
	cfgPath := filepath.Join(root, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"deprecated-key-path": %q}`, filepath.Join(root, "key.json"))), 0o644); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(root, "docker.sock")
	d = start(t, root, sock, bin,
		"--config-file", cfgPath,
		"--data-root", filepath.Join(root, "data"),
		"--exec-root", filepath.Join(root, "exec"),
		"-H", "unix://"+sock,
		"--pidfile", filepath.Join(root, "docker.pid"),
		"--bridge=none", "--iptables=false", "--ip-masq=false",
		"--debug")
	cli, err := client.New(client.WithHost("unix://" + sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := cli.Ping(ctx, client.PingOptions{}); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("dockerd at %s: %v", sock, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dockerd %s (API %s) from %s, root %s", v.Version, v.APIVersion, bin, root)
	return root, sock, d, cli
}

// runReader starts a dstate-reader container with hostDir bound at
// /mnt/hang and returns its id and pid. Its removal is registered.
func runReader(t *testing.T, cli *client.Client, ref, bind string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: ref},
		HostConfig: &container.HostConfig{Binds: []string{bind}, NetworkMode: "none"},
		Name:       "dstate-reader",
	})
	if err != nil {
		t.Fatalf("create reader: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cli.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Logf("remove reader: %v", err)
		}
	})
	if _, err := cli.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start reader: %v", err)
	}
	ins, err := cli.ContainerInspect(ctx, cr.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cr.ID, ins.Container.State.Pid
}

// waitD waits until pid is in uninterruptible sleep.
func waitD(t *testing.T, pid int) probe.Task {
	t.Helper()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		tk, err := probe.ReadTask(pid)
		if err == nil && tk.State == "D" {
			return tk
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("reader pid %d never reached D: %+v %v", pid, tk, err)
		}
	}
}

// waitGone waits until the container is no longer running.
func waitGone(t *testing.T, cli *client.Client, id string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err == nil && !ins.Container.State.Running {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("container %.12s still running after %v (err %v)", id, within, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func diagDir(t *testing.T, name string) string {
	d := os.Getenv("RELAPSE_KILLLOOP_DIAG")
	if d == "" {
		return ""
	}
	d = filepath.Join(d, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func saveSummary(t *testing.T, sock, dir, name string) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := probe.GoroutineSummary(ctx, sock, f); err != nil {
		t.Errorf("goroutine summary: %v", err)
	}
}

// at returns the last value of s at or before time t.
func at(s curve.Series, t float64) float64 {
	v := math.NaN()
	for _, p := range s.Points {
		if p.T <= t {
			v = p.V
		}
	}
	return v
}

func peak(s curve.Series, from, to float64) float64 {
	m := math.Inf(-1)
	for _, p := range s.Points {
		if p.T >= from && p.T <= to && p.V > m {
			m = p.V
		}
	}
	return m
}

// drainTime is how long after `from` s first came back within tol of base.
func drainTime(s curve.Series, from, base, tol float64) (float64, bool) {
	for _, p := range s.Points {
		if p.T >= from && p.V <= base+tol {
			return p.T - from, true
		}
	}
	return 0, false
}

func phase(t *testing.T, s curve.Series, name string) float64 {
	for _, ph := range s.Phases {
		if ph.Name == name {
			return ph.T
		}
	}
	t.Fatalf("no phase %q on %s", name, s.Metric)
	return 0
}

func TestKillLoopLeakOn20105AndPlateauOn201024(t *testing.T) {
	needRoot(t, "dockerd", "containerd", "runc")
	old := os.Getenv("RELAPSE_DOCKERD_20_10_5")
	if old == "" {
		old = filepath.Join(cacheDir(t), "runtimes", "dockerd-20.10.5", "dockerd")
	}
	for _, tc := range []struct {
		name string
		bin  string
		leak bool
	}{
		{name: "20.10.5", bin: old, leak: true},
		{name: "20.10.24", bin: "dockerd", leak: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.bin); err != nil {
				t.Skipf("no dockerd %s at %s (run scripts/fetch-dockerd.sh %s): %v", tc.name, tc.bin, tc.name, err)
			}
			killLoopCase(t, tc.name, tc.bin, tc.leak)
		})
	}
}

func killLoopCase(t *testing.T, name, bin string, leak bool) {
	const calls = 40
	root, sock, d, cli := startDebugDockerd(t, bin)
	img := buildImage(t, "dstate-reader")
	ctx := context.Background()
	if err := LoadDocker(ctx, cli, img); err != nil {
		t.Fatal(err)
	}

	hang, err := fusehang.Mount(ctx, filepath.Join(root, "hang"), fusehang.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := hang.Close(ctx); err != nil {
			t.Errorf("close hang: %v", err)
		}
	})
	id, pid := runReader(t, cli, img.Ref, hang.Dir()+":/mnt/hang")
	if err := hang.WaitBlocked(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tk := waitD(t, pid)
	stack, _ := probe.TaskStack(pid)
	t.Logf("reader %+v\n%s", tk, stack)

	daemonPID := d.cmd.Process.Pid
	gor, _ := probe.NewGoroutines("dockerd", sock)
	info, _ := probe.NewDockerInfo(sock)
	proc, err := probe.NewProcess("dockerd", func() int { return daemonPID })
	if err != nil {
		t.Fatal(err)
	}
	readerState, _ := probe.NewTaskState("reader", func() int { return pid })
	ops := &probe.Ops{}
	s := probe.NewSampler(250*time.Millisecond, ops, t.Logf, gor, info, proc, readerState, probe.NewDStateCount())
	diag := diagDir(t, name)
	saveSummary(t, sock, diag, "goroutines-before.txt")

	s.Start(ctx)
	time.Sleep(3 * time.Second)
	s.Mark("loop")
	start := time.Now()
	res, err := KillLoop(ctx, cli, id, KillLoopOptions{Calls: calls, StopTimeout: 1, Deadline: 2 * time.Second, Ops: ops})
	loopDur := time.Since(start)
	s.Mark("settle")
	saveSummary(t, sock, diag, "goroutines-after-loop.txt")
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	if diag != "" {
		f, _ := os.Create(filepath.Join(diag, "goroutines-after-loop-full.txt"))
		_ = probe.GoroutineDump(ctx, sock, f)
		f.Close()
	}
	time.Sleep(25 * time.Second)
	saveSummary(t, sock, diag, "goroutines-settled.txt")
	s.Stop()

	t.Logf("%d calls in %v: ok=%d deadline=%d daemon-error=%d transport=%d errors=%v",
		calls, loopDur.Round(time.Millisecond), res.Count(CallOK), res.Count(CallDeadline),
		res.Count(CallDaemonError), res.Count(CallTransportError), res.Errors())
	if res.Count(CallOK) != 0 {
		t.Errorf("%d stop calls succeeded on a container stuck in D", res.Count(CallOK))
	}
	if got := int(ops.Load()); got != calls {
		t.Errorf("ops = %d, want %d", got, calls)
	}
	if st := readerState.Last(); st.State != "D" {
		t.Errorf("reader after the loop: %+v, want still in D", st)
	}

	type row struct {
		metric                   string
		base, end, peak, settled float64
		perCall, drain           float64
		drained                  bool
	}
	var rows []row
	for _, m := range []string{"dockerd_goroutines", "dockerd_info_goroutines", "dockerd_fds", "dockerd_info_fds"} {
		sr, err := s.Get(m)
		if err != nil || len(sr.Points) == 0 {
			t.Errorf("series %s: %v (%d points)", m, err, len(sr.Points))
			continue
		}
		tl, ts := phase(t, sr, "loop"), phase(t, sr, "settle")
		last := sr.Points[len(sr.Points)-1]
		r := row{metric: m, base: at(sr, tl), end: at(sr, ts), peak: peak(sr, tl, last.T), settled: last.V}
		r.perCall = (r.settled - r.base) / calls
		r.drain, r.drained = drainTime(sr, ts, r.base, 3)
		rows = append(rows, r)
		t.Logf("%-24s base %4.0f  loop-end %4.0f  peak %4.0f  settled %4.0f  net %+5.1f/call  drained=%v after %.1fs",
			m, r.base, r.end, r.peak, r.settled, r.perCall, r.drained, r.drain)
	}
	if diag != "" {
		f, _ := os.Create(filepath.Join(diag, "series.csv"))
		fmt.Fprintln(f, "metric,t,op,v")
		for _, sr := range s.Series() {
			for _, p := range sr.Points {
				fmt.Fprintf(f, "%s,%.3f,%.0f,%g\n", sr.Metric, p.T, p.Op, p.V)
			}
		}
		f.Close()
	}
	for _, r := range rows {
		goroutines := strings.Contains(r.metric, "goroutines")
		switch {
		case leak && goroutines && r.perCall < 1.5:
			t.Errorf("%s %s: net %.2f goroutines/call, want the ~2/call leak", name, r.metric, r.perCall)
		case leak && !goroutines && r.perCall < 0.7:
			t.Errorf("%s %s: net %.2f fds/call, want the ~1/call leak", name, r.metric, r.perCall)
		case !leak && !r.drained:
			t.Errorf("%s %s: did not drain back to %.0f+3 within 25s after the loop (settled %.0f)", name, r.metric, r.base, r.settled)
		case !leak && r.peak-r.base > 40:
			t.Errorf("%s %s: in-flight plateau %.0f above base, want a bounded plateau", name, r.metric, r.peak-r.base)
		}
	}

	hang.Release()
	waitGone(t, cli, id, 30*time.Second)
	if _, err := probe.ReadTask(pid); err == nil {
		t.Errorf("reader pid %d still exists after release", pid)
	}
}

// The CSI shape: the FUSE server runs in a sidecar container and mounts into
// an rshared host dir; the reader sees it through rslave and hangs in D.
func TestSidecarHangHoldsReaderInD(t *testing.T) {
	needRoot(t, "dockerd", "containerd", "runc")
	root, _, _, cli := startDebugDockerd(t, "dockerd")
	ctx := context.Background()
	side, reader := buildImage(t, "fusehang"), buildImage(t, "dstate-reader")
	for _, img := range []Image{side, reader} {
		if err := LoadDocker(ctx, cli, img); err != nil {
			t.Fatal(err)
		}
	}
	shared, err := fusehang.MakeShared(ctx, filepath.Join(root, "csi"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shared.Close(context.Background()); err != nil {
			t.Errorf("close shared dir: %v", err)
		}
	})

	cr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: side.Ref, Cmd: []string{"-dir", "/mnt/hang"}},
		HostConfig: &container.HostConfig{
			Binds:       []string{shared.Dir() + ":/mnt/hang:rshared"},
			NetworkMode: "none",
			CapAdd:      []string{"SYS_ADMIN"},
			Resources: container.Resources{Devices: []container.DeviceMapping{
				{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
			}},
		},
		Name: "fusehang-sidecar",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := cli.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	// The sidecar's mount must propagate to the host dir.
	for start := time.Now(); !fuseMountedAt(t, shared.Dir()); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("sidecar's fuse mount never appeared on %s", shared.Dir())
		}
	}

	id, pid := runReader(t, cli, reader.Ref, shared.Dir()+":/mnt/hang:rslave")
	tk := waitD(t, pid)
	t.Logf("reader in the sidecar's hang: %+v", tk)
	// docker kill cannot end it: dockerd gives up waiting for the exit.
	_, err = cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"})
	if err != nil && !strings.Contains(err.Error(), "did not receive an exit event") {
		t.Fatalf("docker kill of the stuck reader: %v", err)
	}
	t.Logf("docker kill of the stuck reader: %v", err)
	if tk, err := probe.ReadTask(pid); err != nil || tk.State != "D" {
		t.Fatalf("reader after docker kill: %+v %v; want alive in D", tk, err)
	}
	// SIGUSR1 releases the hang in the sidecar: the killed reader dies.
	if _, err := cli.ContainerKill(ctx, cr.ID, client.ContainerKillOptions{Signal: "USR1"}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cli, id, 15*time.Second)
	// SIGTERM unmounts: the mount leaves the host dir too.
	to := 10
	if _, err := cli.ContainerStop(ctx, cr.ID, client.ContainerStopOptions{Timeout: &to}); err != nil {
		t.Fatal(err)
	}
	if fuseMountedAt(t, shared.Dir()) {
		t.Fatalf("fuse mount still on %s after the sidecar stopped", shared.Dir())
	}
}

func fuseMountedAt(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir && strings.Contains(line, " - fuse."+fusehang.FSName+" ") {
			return true
		}
	}
	return false
}
