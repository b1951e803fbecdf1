package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/probe"
)

// daemon is the built leaker running as its own process, read through the
// probes the engine reads it with.
type daemon struct {
	cmd    *exec.Cmd
	socket string
	client *http.Client
	gor    *probe.Goroutines
	proc   *probe.Process
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "leaker")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := &daemon{socket: filepath.Join(dir, "l.sock")}
	d.cmd = exec.Command(bin, append([]string{"-socket", d.socket}, args...)...)
	d.cmd.Stderr = os.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("leaker did not exit cleanly on SIGINT: %v", err)
			}
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			t.Errorf("leaker still running 5s after SIGINT")
		}
	})
	d.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		},
		DisableKeepAlives: true,
	}}
	var err error
	if d.gor, err = probe.NewGoroutines("leaker", d.socket); err != nil {
		t.Fatal(err)
	}
	pid := d.cmd.Process.Pid
	if d.proc, err = probe.NewProcess("leaker", func() int { return pid }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.proc.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(d.socket); err == nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaker did not listen on %s within 5s", d.socket)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) op(t *testing.T) {
	t.Helper()
	resp, err := d.client.Get("http://leaker/op")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("op: %s", resp.Status)
	}
}

// read is the metrics as the sampler sees them.
func (d *daemon) read(t *testing.T) (goroutines, fds, rss float64) {
	t.Helper()
	// procfs first: the goroutine probe's own connection ends a little
	// after its reply, and would otherwise be counted as an fd.
	p, err := d.proc.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, err := d.gor.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g["leaker_goroutines"], p["leaker_fds"], p["leaker_rss_bytes"]
}

// settled reads until two reads 100 ms apart agree: the ops' connections
// end a little after their replies.
func (d *daemon) settled(t *testing.T) (goroutines, fds float64) {
	t.Helper()
	g, f, _ := d.read(t)
	for i := 0; i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		g2, f2, _ := d.read(t)
		if g2 == g && f2 == f {
			return g, f
		}
		g, f = g2, f2
	}
	return g, f
}

// TestDaemonLeaksExactlyWhatTheProbesSee runs the built daemon and reads it
// the way a run does (pprof for goroutines, procfs for fds): after n ops it
// has grown by exactly n x the rates.
func TestDaemonLeaksExactlyWhatTheProbesSee(t *testing.T) {
	d := startDaemon(t, "-goroutines", "3", "-fds", "0.5")
	g0, f0 := d.settled(t)
	for range 20 {
		d.op(t)
	}
	g, f := d.settled(t)
	if g-g0 != 60 || f-f0 != 10 {
		t.Errorf("after 20 ops: %+g goroutines, %+g fds; want +60, +10", g-g0, f-f0)
	}
}

// TestDaemonNullIsFlat: the null case under the plateau, step-free noise
// comes back to where it started once the plateau drains.
func TestDaemonNullIsFlat(t *testing.T) {
	d := startDaemon(t, "-noise", "plateau,jitter", "-plateau-hold", "100ms", "-jitter", "5ms")
	g0, f0 := d.settled(t)
	for range 100 {
		d.op(t)
	}
	g, f := d.settled(t)
	if g != g0 || f != f0 {
		t.Errorf("null after 100 ops and the drain: goroutines %g -> %g, fds %g -> %g", g0, g, f0, f)
	}
}

// TestSawtoothRisesAndFalls: with the gc noise RSS ramps by the rate and
// drops back, over and over, without any op.
func TestSawtoothRisesAndFalls(t *testing.T) {
	d := startDaemon(t, "-noise", "gc", "-gc-rate", fmt.Sprint(32<<20), "-gc-period", "400ms")
	var rss []float64
	for range 60 {
		_, _, r := d.read(t)
		rss = append(rss, r)
		time.Sleep(50 * time.Millisecond)
	}
	lo, hi, drops := rss[0], rss[0], 0
	for i, r := range rss {
		lo, hi = min(lo, r), max(hi, r)
		if i > 0 && rss[i-1]-r > 4<<20 {
			drops++
		}
	}
	if hi-lo < 8<<20 || drops < 2 {
		t.Errorf("RSS from %.1f to %.1f MiB with %d drops over 4 MiB in 3 s; want a sawtooth of at least 8 MiB with 2 drops\n%v",
			lo/(1<<20), hi/(1<<20), drops, rss)
	}
}
