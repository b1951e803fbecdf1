// Package incidenttest holds what the scenarios' tests share: checking
// that an incident's data says what was measured.
package incidenttest

import (
	"slices"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
)

// ExpectOn fails t for each version (a build measured) on which the
// variant of in named variant expects another verdict than want says: the
// findings of a matrix are the variant's Affected ranges, and this keeps
// them in step with the runs.
func ExpectOn(t testing.TB, in incident.Incident, variant string, want map[string]curve.Verdict) {
	t.Helper()
	v, ok := in.Variant(variant)
	if !ok {
		t.Fatalf("%s has no variant %q", in.ID, variant)
	}
	versions := make([]string, 0, len(want))
	for version := range want {
		versions = append(versions, version)
	}
	slices.Sort(versions)
	for _, version := range versions {
		if got, why := v.ExpectOn(version); got != want[version] {
			t.Errorf("%s/%s on %s: expects %s (%s), want %s", in.ID, variant, version, got, why, want[version])
		}
	}
}
