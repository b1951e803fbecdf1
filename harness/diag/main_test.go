package diag

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// helperEnv turns the test binary into a helper process (see TestMain).
const helperEnv = "RELAPSE_DIAG_TEST_HELPER"

// helperReady is the line a helper prints once its signal handler is in
// place, so a test signals it only then.
const helperReady = "helper ready"

// TestMain lets tests re-exec the test binary as a stand-in daemon process:
// "sigusr1" waits for signals and, like containerd, answers SIGUSR1 with a
// stack dump in $TMPDIR/containerd.<pid>.stacks.log; "spin" makes syscalls
// in a loop for strace to see.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "sigusr1":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1)
		fmt.Println(helperReady)
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case <-c:
				p := filepath.Join(os.TempDir(), fmt.Sprintf("containerd.%d.stacks.log", os.Getpid()))
				_ = os.WriteFile(p, []byte("goroutine 1 [running]:\nmain.main()\n"), 0o644)
			case <-deadline:
				os.Exit(0)
			}
		}
	case "spin":
		fmt.Println(helperReady)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			_ = syscall.Getppid()
			time.Sleep(time.Millisecond)
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}
