package report

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/results"
)

// The diagnostics directory is named once, absolute, whether the result
// carries its paths as the engine returns them (absolute) or as the run
// records them (relative to the run directory).
func TestRegressionFailureNamesTheDiagnosticsOnce(t *testing.T) {
	for _, diag := range []string{"/runs/bad/log/default/diagnostics/dump.txt", "log/default/diagnostics/dump.txt"} {
		res := results.Result{Incident: "log", Variant: "default", Runtime: "containerd", Version: "1.6.20", Verdict: "breach",
			Config: map[string]any{"user_config": "/etc/containerd/config.toml"}, Diagnostics: []string{diag}}
		msg := RegressionFailure(res, "/runs/bad")
		if !strings.Contains(msg, "diagnostics: /runs/bad/log/default/diagnostics\n    dump.txt") {
			t.Errorf("with %s:\n%s", diag, msg)
		}
		if !strings.HasPrefix(msg, "log came back on your containerd 1.6.20 (config /etc/containerd/config.toml): verdict breach, want hold") {
			t.Errorf("first line:\n%s", msg)
		}
	}
}
