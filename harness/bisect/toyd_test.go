package bisect_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// toydSource is a toy Go daemon: an HTTP server on a unix socket with
// net/http/pprof, whose /work handler parks a goroutine per request until
// the request is done, and from the commit that sets leak never releases
// it: the goroutine-per-call shape of a real runtime leak.
const toydSource = `package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
)

// build changes with every commit.
const build = %d

// leak is the bug under search.
const leak = %t

func main() {
	socket := flag.String("socket", "", "unix socket to serve on")
	flag.Parse()
	l, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() {
			buf := make([]byte, 16<<10)
			<-done
			_ = buf
		}()
		if !leak {
			close(done)
		}
		w.Write([]byte("ok\n"))
	})
	log.Fatal(http.Serve(l, nil))
}
`

// toydRepo makes a git repository of commits commits (plus the root) whose
// daemon leaks from commit leakAt on, and returns it with its commits,
// oldest first.
func toydRepo(t *testing.T, commits, leakAt int) (string, []string) {
	t.Helper()
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=relapse", "-c", "user.email=relapse@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module toyd\n\ngo 1.22\n")
	var hashes []string
	for i := 0; i <= commits; i++ {
		write("main.go", fmt.Sprintf(toydSource, i, i >= leakAt))
		git("add", "-A")
		git("commit", "-q", "-m", fmt.Sprintf("toyd build %d", i))
		hashes = append(hashes, git("rev-parse", "HEAD"))
	}
	return repo, hashes
}

// toydSandbox runs one build of the toy daemon as a process under a
// private root: what a runtime sandbox is to the engine, for a daemon that
// needs no namespaces. The engine probes its process (toyd_rss_bytes,
// toyd_fds, toyd_threads) and, through DebugAddress, its goroutines.
type toydSandbox struct {
	binary, version, root string
	cmd                   *exec.Cmd
}

func (s *toydSandbox) Kind() runtime.Kind         { return "toyd" }
func (s *toydSandbox) Version() string            { return s.version }
func (s *toydSandbox) Binary() string             { return s.binary }
func (s *toydSandbox) Address() string            { return filepath.Join(s.root, "toyd.sock") }
func (s *toydSandbox) DebugAddress() string       { return s.Address() }
func (s *toydSandbox) Root() string               { return s.root }
func (s *toydSandbox) LogPath() string            { return filepath.Join(s.root, "toyd.log") }
func (s *toydSandbox) Guard() runtime.GuardReport { return runtime.GuardReport{} }

func (s *toydSandbox) PID() int {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *toydSandbox) Start(ctx context.Context) error {
	log, err := os.Create(s.LogPath())
	if err != nil {
		return err
	}
	defer log.Close()
	s.cmd = exec.Command(s.binary, "-socket", s.Address())
	s.cmd.Stdout, s.cmd.Stderr = log, log
	// The daemon dies with the test process, also on SIGKILL.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	for ctx.Err() == nil {
		if c, err := net.Dial("unix", s.Address()); err == nil {
			return c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("toyd did not listen on %s: %w", s.Address(), ctx.Err())
}

func (s *toydSandbox) Stop(context.Context) error {
	if s.PID() == 0 {
		return nil
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	return nil
}

func (s *toydSandbox) Crash() error                      { return s.Stop(context.Background()) }
func (s *toydSandbox) Restart(ctx context.Context) error { _ = s.Stop(ctx); return s.Start(ctx) }

func (s *toydSandbox) Close(ctx context.Context) error {
	_ = s.Stop(ctx)
	return os.RemoveAll(s.root)
}

// toydCase drives requests at the toy daemon, one at a time, one every
// 50 ms or so, until the engine's verdict stops it.
type toydCase struct{ requests int }

func (c toydCase) Start(_ context.Context, env *incident.Env) (incident.Attempt, error) {
	socket := env.Sandbox.Address()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	return &toydAttempt{client: client, ops: env.Ops, requests: c.requests}, nil
}

type toydAttempt struct {
	client   *http.Client
	ops      *probe.Ops
	requests int
}

func (a *toydAttempt) Probes() []probe.Source { return nil }

func (a *toydAttempt) Drive(ctx context.Context) error {
	defer a.client.CloseIdleConnections()
	for range a.requests {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://toyd/work", nil)
		if err != nil {
			return err
		}
		resp, err := a.client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		a.ops.Add(1)
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// toydIncident is the toy's incident: one goroutine kept per request is a
// slope of 1/request against a budget of 0.25. Its 600 requests (at most
// ~30 s) outlast the 12 s window the default rules (RulesV3) need to
// decide a slope; a certain breach or hold stops the run there.
func toydIncident() incident.Incident {
	return incident.Incident{
		ID: "toyd-request-leak", Title: "toy daemon keeps a goroutine per request", Runtime: "toyd",
		Variants: []incident.Variant{{
			Name: "requests", Expect: curve.Hold, Why: "a build without the leak returns to its baseline after every request",
			Interval: 50 * time.Millisecond, Timeout: time.Minute,
			Budgets: []curve.Budget{{Metric: "toyd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: 10,
				Why: "the leak keeps one goroutine per request"}},
			Case: toydCase{requests: 600},
		}},
	}
}

var errNoBinary = errors.New("no toyd build for this item")
