// Command execspawn is the exec probe that never lets go of its stdio. Run as
// a container's main process it idles until SIGTERM or SIGINT; run as an
// exec (a Kubernetes liveness or readiness probe's command) it starts a
// background copy of itself that inherits stdout and stderr and sleeps, then
// prints one line and exits 0 at once.
//
// The probe itself succeeds, but the exec's stdout and stderr stay open in
// the background child, so a runtime that waits for the exec's output to
// reach EOF before answering (containerd's CRI ExecSync draining its IO)
// waits as long as the child lives.
//
// Modes (the first argument):
//
//	(none) | serve  idle until SIGTERM/SIGINT (the container's main process)
//	spawn           start "sleep" in the background with stdout and stderr
//	                inherited, print "spawned <pid>", exit 0
//	sleep [DUR]     sleep DUR (default 1h), holding whatever stdio it got
//
// Build: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" ./images/execspawn
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// defaultSleep bounds a background child that nobody kills: long enough to
// outlive any run, short enough not to outlive a forgotten container for
// ever.
const defaultSleep = time.Hour

func main() {
	mode := "serve"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if err := run(mode, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "execspawn %s: %v\n", mode, err)
		os.Exit(2)
	}
}

func run(mode string, args []string) error {
	switch mode {
	case "serve":
		return serve()
	case "spawn":
		pid, err := spawn()
		if err != nil {
			return err
		}
		fmt.Printf("spawned %d\n", pid)
		return nil
	case "sleep":
		d := defaultSleep
		if len(args) > 0 {
			var err error
			if d, err = time.ParseDuration(args[0]); err != nil || d <= 0 {
				return fmt.Errorf("duration %q: want a positive Go duration like 30s", args[0])
			}
		}
		time.Sleep(d)
		return nil
	}
	return fmt.Errorf("unknown mode (want serve, spawn or sleep)")
}

// serve is the container's main process: PID 1 of its namespace, so it
// also reaps the background children that outlive their spawner.
func serve() error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			fmt.Fprintf(os.Stderr, "execspawn: %v, exiting\n", sig)
			return nil
		}
		reap()
	}
	return nil
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// spawn starts a sleeping copy of this binary that holds this process'
// stdout and stderr, in its own session so the exec's end does not signal
// it, and returns without waiting for it.
func spawn() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, "sleep")
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the background child: %w", err)
	}
	pid := cmd.Process.Pid
	// Release, not Wait: the child must outlive this process.
	if err := cmd.Process.Release(); err != nil {
		return 0, err
	}
	return pid, nil
}
