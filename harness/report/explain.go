package report

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/relapse-dev/relapse/harness/results"
)

// Explain says in one paragraph why a result is what it is: every budget's
// verdict and what was measured, the error if any, and where the
// diagnostics are. The CLI and the suites print it for a run that is not ok.
func Explain(res results.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s, expected %s", res.Verdict, res.Expect)
	if res.Error != "" {
		fmt.Fprintf(&b, "; error: %s", res.Error)
	}
	for _, j := range res.Judgements() {
		fmt.Fprintf(&b, "\n  %s", j)
	}
	if len(res.Diagnostics) > 0 {
		fmt.Fprintf(&b, "\n  diagnostics: %s", strings.Join(res.Diagnostics, ", "))
	}
	return b.String()
}

// RegressionFailure is what a regression run that breached says: the
// incident, the user's runtime and configuration, every budget with what
// was measured, and where the diagnostics are (absolute paths, to open
// from the terminal).
func RegressionFailure(res results.Result, runDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s came back on your %s %s (config %v): verdict %s, want hold",
		res.Incident, res.Runtime, res.Version, res.Config["user_config"], res.Verdict)
	if res.Error != "" {
		fmt.Fprintf(&b, "\n  error: %s", res.Error)
	}
	for _, j := range res.Judgements() {
		fmt.Fprintf(&b, "\n  %s", j)
	}
	if len(res.Diagnostics) == 0 {
		fmt.Fprintf(&b, "\n  diagnostics: none captured; series and charts in %s", filepath.Join(runDir, res.Name()))
	} else {
		// A result straight from the engine holds absolute paths; one
		// loaded from summary.json holds paths relative to the run.
		dir := filepath.Dir(res.Diagnostics[0])
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(runDir, dir)
		}
		fmt.Fprintf(&b, "\n  diagnostics: %s", dir)
		for _, d := range res.Diagnostics {
			fmt.Fprintf(&b, "\n    %s", filepath.Base(d))
		}
	}
	return b.String()
}
