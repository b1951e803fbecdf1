package powerloss

import "testing"

func TestExitCode(t *testing.T) {
	for status, want := range map[string]float64{"exit status 2": 2, "exit status 1": 1, "signal: killed": 137} {
		if got, ok := exitCode(status); !ok || got != want {
			t.Errorf("exitCode(%q) = %v, %v; want %v", status, got, ok, want)
		}
	}
	if _, ok := exitCode("running"); ok {
		t.Error(`exitCode("running") is ok`)
	}
}

// TestReasonIsTheLastStartsOwn: a panic of an earlier start is not why the
// last one died.
func TestReasonIsTheLastStartsOwn(t *testing.T) {
	log := "--- relapse: starting dockerd ---\n" +
		"panic: runtime error: index out of range\n" +
		"--- relapse: starting dockerd ---\n" +
		"level=info msg=\"Starting up\"\n" +
		"failed to start daemon: error while populating kmap: timeout\n"
	if got, want := reasonIn(log), ": failed to start daemon: error while populating kmap: timeout"; got != want {
		t.Errorf("reasonIn = %q, want %q", got, want)
	}
	if got := reasonIn("--- relapse: starting dockerd ---\nlevel=info msg=ready\n"); got != "" {
		t.Errorf("reasonIn of a clean start = %q, want none", got)
	}
}
