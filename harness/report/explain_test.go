package report

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/results"
)

// TestRegressionFailureNamesTheDiagnosticsDirectory: the engine's result
// names its diagnostics by absolute path, a recorded one relative to the
// run; either way the message names one real directory.
func TestRegressionFailureNamesTheDiagnosticsDirectory(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"/runs/r1/inc/v/diagnostics/dump.txt", "diagnostics: /runs/r1/inc/v/diagnostics\n"},
		{"inc/v/diagnostics/dump.txt", "diagnostics: /runs/r1/inc/v/diagnostics\n"},
	} {
		res := results.Result{Incident: "inc", Variant: "v", Verdict: "breach", Diagnostics: []string{tc.file}}
		if got := RegressionFailure(res, "/runs/r1"); !strings.Contains(got, tc.want) {
			t.Errorf("diagnostics %s: message\n%s\nwant %q", tc.file, got, tc.want)
		}
	}
}
