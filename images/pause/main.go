// Command pause blocks until SIGTERM or SIGINT and then exits 0.
//
// It is relapse's CRI sandbox image (containerd's sandbox_image, so no
// registry is needed for pods) and a generic sleeper for scenarios that only
// need a container to exist. As PID 1 it reaps orphaned children, as the
// Kubernetes pause container does, so zombies in a shared PID namespace do not
// pile up and skew process counts.
//
// Build: CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" ./images/pause
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: %v, exiting\n", sig)
		os.Exit(0)
	}
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
