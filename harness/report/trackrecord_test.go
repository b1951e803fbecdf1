package report

import (
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

func TestTrackRecordShowsEachBuildsLastRun(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC) }
	peak := func(variant, cell, verdict, expect string, mib float64, started time.Time) results.Result {
		return results.Result{
			Incident: "bolt", Variant: variant, Cell: cell, Runtime: "dockerd", Version: strings.TrimPrefix(cell, "dockerd-"),
			Expect: expect, Verdict: verdict, OK: verdict == expect, Started: started,
			Metric: "rss", BudgetKind: curve.Ceiling, Slope: mib * (1 << 20), SlopeUnit: "bytes", Units: map[string]string{"rss": "bytes", "lost": "networks"},
			Evaluations: []curve.Evaluation{{Budget: curve.Budget{Metric: "rss", Kind: curve.Ceiling}, Verdict: curve.Verdict(verdict), Measured: mib * (1 << 20)}},
		}
	}
	lost := peak("wrong-root", "dockerd-20.10.24", "breach", "breach", 77.9, day(23))
	lost.Evaluations = []curve.Evaluation{
		{Budget: curve.Budget{Metric: "rss", Kind: curve.Ceiling}, Verdict: curve.Hold, Measured: 77.9 * (1 << 20)},
		{Budget: curve.Budget{Metric: "lost", Kind: curve.Ceiling}, Verdict: curve.Breach, Measured: 3},
	}
	run := results.Run{ID: "merged", Started: day(23), Results: []results.Result{
		peak("zero-page", "dockerd-20.10.24", "breach", "breach", 400, day(23)),
		peak("zero-page", "dockerd-20.10.24", "breach", "breach", 545, day(30)), // the last run wins
		peak("zero-page", "dockerd-28.5.2", "hold", "breach", 70.8, day(30)),
		peak("zero-page", "dockerd-9.0.0", "hold", "hold", 70, day(29)), // ordered by version, not text
		lost,
	}}
	got := TrackRecord(run, []TrackIncident{
		{ID: "bolt", Title: "loops | grows", Affected: "a torn\nlocal-kv.db", Fixed: "none"},
		{ID: "other", Title: "never run"},
	})
	for _, want := range []string{
		"from run merged;",
		"| `bolt` | loops \\| grows | a torn local-kv.db | none | dockerd-28.5.2 (2026-11-30) |",
		"| `other` | never run |  |  | not measured in this run |",
		"| `bolt` | dockerd-9.0.0 | 2026-11-29 | `zero-page` hold, peak 70 MiB ✓ |\n" +
			"| `bolt` | dockerd-20.10.24 | 2026-11-30 | `wrong-root` breach, peak 77.9 MiB; lost 3 networks ✓ · `zero-page` breach, peak 545 MiB ✓ |\n" +
			"| `bolt` | dockerd-28.5.2 | 2026-11-30 | `zero-page` hold, peak 70.8 MiB ✗ expected breach |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("track record lacks\n%s\ngot:\n%s", want, got)
		}
	}
	if strings.Contains(got, "400 MiB") {
		t.Errorf("an older run of the same build shows:\n%s", got)
	}
}
