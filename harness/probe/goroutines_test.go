package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveUnix serves h on a fresh unix socket for the test's duration.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	if err := os.MkdirAll("/tmp/relapse", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp/relapse", "probe-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); os.RemoveAll(dir) })
	return sock
}

// pprofMux is the same net/http/pprof handler dockerd mounts under
// /debug/pprof when run with --debug.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	return mux
}

func TestGoroutinesCountsParkedGoroutines(t *testing.T) {
	sock := serveUnix(t, pprofMux())
	g, err := NewGoroutines("self", sock)
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Describe(); len(d) != 1 || d[0].Name != "self_goroutines" {
		t.Fatalf("Describe = %+v", d)
	}
	ctx := context.Background()
	before, err := g.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const parked = 50
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range parked {
		wg.Add(1)
		go func() { defer wg.Done(); <-stop }()
	}
	after, err := g.Collect(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Give or take a few: the first Collect's own connection goroutines
	// (client and server side) may end, or still run, by the second.
	if d := after["self_goroutines"] - before["self_goroutines"]; d < parked-3 || d > parked+5 {
		t.Fatalf("goroutines went %v -> %v after parking %d, want +%d (give or take the probe's own)", before, after, parked, parked)
	}
}

func TestGoroutineDumpAndSummary(t *testing.T) {
	sock := serveUnix(t, pprofMux())
	stop := make(chan struct{})
	defer close(stop)
	go func() { <-stop }()

	ctx := context.Background()
	var dump, sum bytes.Buffer
	if err := GoroutineDump(ctx, sock, &dump); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump.String(), "goroutine ") || !strings.Contains(dump.String(), "[chan receive]") {
		t.Fatalf("debug=2 dump lacks a parked goroutine:\n%.400s", dump.String())
	}
	if err := GoroutineSummary(ctx, sock, &sum); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sum.String(), "goroutine profile: total ") {
		t.Fatalf("debug=1 summary starts %.80q", sum.String())
	}
}

func TestGoroutinesErrorsNameTheCause(t *testing.T) {
	if _, err := NewGoroutines("x", ""); err == nil {
		t.Fatal("NewGoroutines without a socket succeeded")
	}
	// A daemon without --debug answers 404 on /debug/pprof.
	sock := serveUnix(t, http.NotFoundHandler())
	g, _ := NewGoroutines("dockerd", sock)
	if _, err := g.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), "--debug") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Collect against a 404 = %v, want an error naming --debug and the status", err)
	}
	g, _ = NewGoroutines("dockerd", "/tmp/relapse/no-such.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := g.Collect(ctx); err == nil || !strings.Contains(err.Error(), "no-such.sock") {
		t.Fatalf("Collect against a missing socket = %v, want an error naming it", err)
	}
	if _, err := parseGoroutineTotal(strings.NewReader("heap profile: 1\n")); err == nil {
		t.Fatal("parseGoroutineTotal accepted a heap profile")
	}
	if n, err := parseGoroutineTotal(strings.NewReader("goroutine profile: total 163\n1 @ 0x1\n")); err != nil || n != 163 {
		t.Fatalf("parseGoroutineTotal = %d, %v; want 163", n, err)
	}
}

// The /info fields are checked against a real dockerd in the workload e2e
// test; here only the decoding and the --debug check.
func TestDockerInfoNeedsDebug(t *testing.T) {
	var debug bool
	mux := http.NewServeMux()
	mux.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"Debug": debug, "NGoroutines": 163, "NFd": 85})
	})
	sock := serveUnix(t, mux)
	d, err := NewDockerInfo(sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), "--debug") {
		t.Fatalf("Collect without debug = %v, want an error asking for --debug", err)
	}
	debug = true
	got, err := d.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got["dockerd_info_goroutines"] != 163 || got["dockerd_info_fds"] != 85 {
		t.Fatalf("Collect = %v", got)
	}
}
