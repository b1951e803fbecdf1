package runtime

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// helperEnv switches the test binary into a helper process (see TestMain).
const helperEnv = "RELAPSE_RUNTIME_TEST_HELPER"

// TestMain lets the tests re-exec the test binary as a helper process: a
// memory hog for the guard test, a stand-in daemon for the sweep test.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "alloc":
		allocForever()
	case "sleep":
		time.Sleep(10 * time.Minute)
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// allocForever touches 16 MiB more every 10ms until it is killed, so the
// guard sees RSS cross its limit in steps.
func allocForever() {
	var keep [][]byte
	for {
		b := make([]byte, 16<<20)
		for i := range len(b) / 4096 {
			b[i*4096] = 1
		}
		keep = append(keep, b)
		if len(keep) > 256 { // 4 GiB: the guard must have fired long before
			fmt.Fprintln(os.Stderr, "alloc helper: not killed at 4 GiB")
			os.Exit(3)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testLogf logs through t with a timestamp, for sandboxes' narration.
func testLogf(t *testing.T) func(string, ...any) {
	return func(format string, args ...any) {
		t.Helper()
		t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
}

// assertNothingLeft checks that no process refers to root and nothing is
// mounted below it, and that root is gone: what Close promises.
func assertNothingLeft(t *testing.T, root string) {
	t.Helper()
	procs, err := procsUnder(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		t.Errorf("process left after Close: %d %s", p.pid, strings.Join(p.args, " "))
	}
	mounts, err := mountsUnder(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		t.Errorf("mount left after Close: %s", m)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root %s still exists after Close (stat: %v)", root, err)
	}
	t.Logf("after Close: 0 processes refer to %s, 0 mounts below it, root removed", root)
}

// closeOnCleanup makes sure a sandbox is closed even when a test fails.
func closeOnCleanup(t *testing.T, s Sandbox) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("cleanup Close: %v", err)
		}
	})
}

// getUnix GETs path over a unix socket and fails the test unless it answers 200.
func getUnix(t *testing.T, socket, path string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://unix" + path)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", path, socket, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s on %s: %s", path, socket, resp.Status)
	}
}
