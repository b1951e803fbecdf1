package report

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestComponentsView(t *testing.T) {
	got := componentsView(map[string]runtime.Component{
		"runc":       {Path: "/c/runtimes/runc-1.3.6/runc", Version: "runc version 1.3.6", Source: "go install -tags seccomp"},
		"containerd": {Path: "/c/runtimes/containerd-2.1.9/deb/usr/bin/containerd"},
	})
	want := []kv{
		{K: "containerd", V: "/c/runtimes/containerd-2.1.9/deb/usr/bin/containerd"},
		{K: "runc", V: "runc version 1.3.6 (go install -tags seccomp)"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("componentsView = %+v, want %+v (sorted by name, version else path, source in parentheses)", got, want)
	}
}
