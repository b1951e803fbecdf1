package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"testing"

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

	sources, err := SandboxSources(&debugSandbox{debug: sock})
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

	plain, err := SandboxSources(&selfSandbox{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != len(sources)-1 {
		t.Errorf("%d sources without a debug socket, %d with: want exactly one more", len(plain), len(sources))
	}
}
