package report

import (
	"os"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// writeSample records the sample run into resultsDir with a Store that
// renders through Renderer, as the engine does.
func writeSample(t *testing.T, resultsDir string) *results.Store {
	t.Helper()
	return resultstest.WriteSample(t, resultsDir, Renderer{})
}

// TestWriteSample writes a sample report to $RELAPSE_REPORT_SAMPLE so a
// person can look at index.html and the charts; it is skipped otherwise.
func TestWriteSample(t *testing.T) {
	dir := os.Getenv("RELAPSE_REPORT_SAMPLE")
	if dir == "" {
		t.Skip("set RELAPSE_REPORT_SAMPLE=<dir> to write a sample report there")
	}
	w := writeSample(t, dir)
	failed := results.Result{Incident: "dockerd-bolt-corruption", Variant: "forward-cycle", Runtime: string(runtime.Dockerd), Version: "20.10.24",
		Expect: string(curve.Breach), Verdict: string(curve.Inconclusive), Error: "start sandbox: dockerd did not answer within 30s; see dockerd.log"}
	if err := w.Add(failed, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s\n%s", w.Dir(), Table(w.Run()))
}
