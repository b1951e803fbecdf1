package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSpawnKeepsStdoutOpen runs the built binary as a probe would: spawn
// exits 0 at once, yet its stdout reaches EOF only when the background
// child dies. That is the whole stimulus.
func TestSpawnKeepsStdoutOpen(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "execspawn")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "spawn")
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("spawn: %v", err)
	}
	w.Close()
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("spawn took %v: it must return at once", el)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("reading spawn's line: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "spawned ")))
	if err != nil {
		t.Fatalf("spawn printed %q, want \"spawned <pid>\"", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	eof := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); eof <- err }()
	select {
	case err := <-eof:
		t.Fatalf("stdout reached EOF (%v) while the child %d lives: nothing holds it", err, pid)
	case <-time.After(500 * time.Millisecond):
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eof:
	case <-time.After(5 * time.Second):
		t.Fatal("stdout still open 5s after the child was killed")
	}
}

func TestUnknownModeFails(t *testing.T) {
	if err := run("nope", nil); err == nil {
		t.Error("unknown mode: no error")
	}
	if err := run("sleep", []string{"-1s"}); err == nil {
		t.Error("negative sleep: no error")
	}
}
