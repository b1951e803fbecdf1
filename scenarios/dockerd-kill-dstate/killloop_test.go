package dockerdkilldstate

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/relapse-dev/relapse/harness/probe"
)

func unixCLI(t *testing.T, sock string) *client.Client {
	t.Helper()
	cli, err := client.New(client.WithHost("unix://"+sock), client.WithAPIVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestKillLoopRejectsBadOptions(t *testing.T) {
	cli := unixCLI(t, "/tmp/relapse/none.sock")
	ok := KillLoopOptions{Calls: 1, StopTimeout: 1, Deadline: time.Second}
	for _, tc := range []struct {
		name string
		cli  *client.Client
		id   string
		opts KillLoopOptions
		want string
	}{
		{"nil client", nil, "c", ok, "nil docker client"},
		{"no id", cli, "", ok, "empty container id"},
		{"no calls", cli, "c", KillLoopOptions{Deadline: time.Second}, "Calls is 0"},
		{"no deadline", cli, "c", KillLoopOptions{Calls: 1}, "Deadline is 0s"},
		{"bad timeout", cli, "c", KillLoopOptions{Calls: 1, Deadline: time.Second, StopTimeout: -2}, "StopTimeout is -2"},
	} {
		if _, err := KillLoop(context.Background(), tc.cli, tc.id, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// A daemon socket that accepts and never answers: every call must end at its
// own deadline, be classed as such, and count one op.
func TestKillLoopClassifiesDeadlinesAndTransportErrors(t *testing.T) {
	if err := os.MkdirAll("/tmp/relapse", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp/relapse", "killloop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "stalled.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	})

	ops := &probe.Ops{}
	res, err := KillLoop(context.Background(), unixCLI(t, sock), "c0ffee", KillLoopOptions{Calls: 3, StopTimeout: 1, Deadline: 150 * time.Millisecond, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(CallDeadline) != 3 || ops.Load() != 3 {
		t.Fatalf("calls %+v ops %d, want 3 deadline calls counted", res.Calls, ops.Load())
	}
	for _, c := range res.Calls {
		if c.Duration < 150*time.Millisecond || c.Duration > 2*time.Second {
			t.Errorf("call took %v, want about the 150ms deadline", c.Duration)
		}
	}
	if got := res.Errors()[context.DeadlineExceeded.Error()]; got != 3 {
		t.Errorf("Errors() = %v", res.Errors())
	}

	res, err = KillLoop(context.Background(), unixCLI(t, filepath.Join(dir, "gone.sock")), "c0ffee", KillLoopOptions{Calls: 2, Deadline: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(CallTransportError) != 2 {
		t.Fatalf("calls to a missing socket: %+v, want 2 transport errors", res.Calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = KillLoop(ctx, unixCLI(t, sock), "c0ffee", KillLoopOptions{Calls: 2, Deadline: time.Second})
	if err == nil || len(res.Calls) != 0 || !strings.Contains(err.Error(), "after 0 of 2 calls") {
		t.Fatalf("cancelled loop = %+v, %v; want no calls and an error saying so", res, err)
	}
}
