package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/probe"
)

// debugSandbox is a selfSandbox with a debug socket, as a containerd
// sandbox has.
type debugSandbox struct {
	selfSandbox
	debug string
}

func (s *debugSandbox) DebugAddress() string { return s.debug }

// TestContainerdGoroutinesFromItsDebugSocket: a sandbox with a debug
// socket gets a goroutine probe of its own, read from pprof there.
func TestContainerdGoroutinesFromItsDebugSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "debug.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	sources, err := SandboxSources(&debugSandbox{debug: sock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = probe.CloseSources(sources) })
	var got float64
	for _, s := range sources {
		for _, d := range s.Describe() {
			if d.Name != "containerd_goroutines" {
				continue
			}
			m, err := s.Collect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got = m[d.Name]
		}
	}
	if got < 1 {
		t.Fatalf("containerd_goroutines %v: want the debug socket's goroutine count", got)
	}

	plain, err := SandboxSources(&selfSandbox{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != len(sources)-1 {
		t.Errorf("%d sources without a debug socket, %d with: want exactly one more", len(plain), len(sources))
	}
}

// A goroutine probe no budget judges is read as often as the watcher
// looks; one a budget judges at every sample.
func TestUnjudgedGoroutinesArePaced(t *testing.T) {
	sb := &debugSandbox{debug: filepath.Join(t.TempDir(), "debug.sock")}
	goroutineProbe := func(budgets []curve.Budget) probe.Source {
		t.Helper()
		sources, err := SandboxSources(sb, budgets)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = probe.CloseSources(sources) })
		for _, s := range sources {
			for _, d := range s.Describe() {
				if d.Name == "containerd_goroutines" {
					return s
				}
			}
		}
		t.Fatal("no containerd_goroutines probe")
		return nil
	}
	unjudged := goroutineProbe([]curve.Budget{{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerOp, Max: 1}})
	if p, ok := unjudged.(probe.Paced); !ok || p.Every != judge.LookEvery {
		t.Errorf("unjudged goroutine probe is %T %+v, want probe.Paced every %v", unjudged, unjudged, judge.LookEvery)
	}
	judgedProbe := goroutineProbe([]curve.Budget{{Metric: "containerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 1}})
	if _, ok := judgedProbe.(probe.Paced); ok {
		t.Errorf("the goroutine probe a budget judges is paced: %+v", judgedProbe)
	}
}
