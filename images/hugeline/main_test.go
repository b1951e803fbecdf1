package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "52428800": 50 << 20, "50MiB": 50 << 20, "64KiB": 64 << 10, "1GiB": 1 << 30,
		"5MB": 5e6, "1KB": 1000, "7B": 7, " 2 MiB ": 2 << 20,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "5M", "1.5MiB", "99999999999GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestParseConfigFlagsOverEnv(t *testing.T) {
	env := map[string]string{"HUGELINE_RATE": "1MiB", "HUGELINE_TOTAL": "3MiB"}
	cfg, err := parseConfig([]string{"-total", "2MiB"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rate != 1<<20 || cfg.total != 2<<20 || cfg.chunk != 64<<10 {
		t.Errorf("config %+v: want rate from env, total from flag, default chunk", cfg)
	}
	for _, args := range [][]string{{"-rate", "0"}, {"-chunk", "0"}, {"extra"}, {"-rate", "fast"}} {
		if _, err := parseConfig(args, func(string) string { return "" }); err == nil {
			t.Errorf("parseConfig(%q): no error", args)
		}
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"HUGELINE_CHUNK": "big"}[k] }); err == nil || !strings.Contains(err.Error(), "HUGELINE_CHUNK") {
		t.Errorf("bad env: %v, want an error naming HUGELINE_CHUNK", err)
	}
}

func TestWritePacesWithoutNewline(t *testing.T) {
	var buf bytes.Buffer
	start := time.Now()
	n, sig, err := write(&buf, config{rate: 20 << 20, total: 4 << 20, chunk: 64 << 10}, nil)
	el := time.Since(start)
	if err != nil || sig != nil || n != 4<<20 || buf.Len() != 4<<20 {
		t.Fatalf("wrote %d (buffer %d), sig %v, err %v; want 4MiB", n, buf.Len(), sig, err)
	}
	if bytes.IndexByte(buf.Bytes(), '\n') >= 0 {
		t.Fatal("a newline on stdout")
	}
	if el < 180*time.Millisecond || el > 300*time.Millisecond {
		t.Errorf("4MiB at 20MiB/s took %v, want about 200ms", el)
	}
}

// stallWriter blocks once, like a log reader that falls behind.
type stallWriter struct {
	stalled bool
	n       int
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if !w.stalled {
		w.stalled = true
		time.Sleep(300 * time.Millisecond)
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriteLosesTokensWhileStalled(t *testing.T) {
	start := time.Now()
	var w stallWriter
	if _, _, err := write(&w, config{rate: 10 << 20, total: 1 << 20, chunk: 64 << 10}, nil); err != nil {
		t.Fatal(err)
	}
	// 300ms stalled, then 1MiB less one chunk at 10MiB/s: about 400ms. A
	// bucket that kept the stalled time's tokens would be done at 300ms.
	if el := time.Since(start); el < 360*time.Millisecond {
		t.Errorf("took %v: the writer burst after a stall", el)
	}
}

func TestWriteStopsOnSignal(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	var buf bytes.Buffer
	n, sig, err := write(&buf, config{rate: 1 << 20, total: 0, chunk: 1024}, sigs)
	if err != nil || sig != syscall.SIGTERM || n > 1<<20 {
		t.Errorf("wrote %d, sig %v, err %v; want a prompt stop on SIGTERM", n, sig, err)
	}
}

// TestBinaryIdlesAfterWrite runs the built binary end to end: the whole
// total on stdout without a newline, a summary on stderr, still alive after
// the write, exit 0 on SIGTERM.
func TestBinaryIdlesAfterWrite(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hugeline")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-total", "1MiB")
	cmd.Env = append(os.Environ(), "HUGELINE_RATE=10MiB")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("hugeline exited after its write: %v\n%s", err, stderr.String())
	case <-time.After(600 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	if stdout.Len() != 1<<20 || bytes.IndexByte(stdout.Bytes(), '\n') >= 0 {
		t.Errorf("stdout %d bytes (newline at %d), want 1MiB without a newline", stdout.Len(), bytes.IndexByte(stdout.Bytes(), '\n'))
	}
	if !strings.Contains(stderr.String(), "wrote 1048576 bytes") {
		t.Errorf("stderr %q: want the summary", stderr.String())
	}
}
