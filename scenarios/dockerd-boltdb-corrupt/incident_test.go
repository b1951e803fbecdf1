package dockerdboltdbcorrupt

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/fault/powerloss"
	"github.com/relapse-dev/relapse/harness/incident"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	if in.ID != "dockerd-boltdb-corrupt" {
		t.Errorf("id %q, want the directory's name dockerd-boltdb-corrupt", in.ID)
	}
	if in.Regression != "" || in.NotJudged == "" {
		t.Errorf("regression %q, not judged %q: want no regression variant and the reason", in.Regression, in.NotJudged)
	}
	want := []struct {
		name     string
		expect   curve.Verdict
		attempts int
	}{
		{"truncate", curve.Hold, 0},
		{"zero-page", curve.Breach, 2},
		{"flip-bytes", curve.Hold, 0},
		{"leaf-count", curve.Hold, 0},
		{"bad-freelist", curve.Hold, 0},
		{"meta-wrong-root", curve.Breach, 0},
		{"meta-checksums", curve.Hold, 0},
		{"self-cycle", curve.Hold, 0},
		{"cycle-loop", curve.Breach, 2},
		{"recovered", curve.Hold, 0},
	}
	have := map[string]incident.Variant{}
	for _, v := range in.Variants {
		have[v.Name] = v
	}
	if len(in.Variants) != len(want) {
		t.Errorf("%d variants, want %d", len(in.Variants), len(want))
	}
	for _, w := range want {
		v, ok := have[w.name]
		if !ok {
			t.Errorf("no variant %s", w.name)
			continue
		}
		if v.Expect != w.expect || v.Attempts != w.attempts {
			t.Errorf("%s expects %s in %d attempts, want %s in %d", v.Name, v.Expect, v.Attempts, w.expect, w.attempts)
		}
		if _, ok := v.Case.(powerloss.Case); !ok {
			t.Errorf("%s: case %T, want a powerloss.Case", v.Name, v.Case)
		}
	}
	// The workaround's known cost is the user networks: it must not be
	// judged by them.
	for _, b := range have["recovered"].Budgets {
		if b.Metric == "dockerd_networks_lost" {
			t.Error("recovered is judged by dockerd_networks_lost, the workaround's known cost")
		}
	}
}

// TestVariantsCoverRegistry keeps the incident's variants in step with
// boltcorrupt's Registry: one variant per corruption, plus the workaround,
// each with the guard at a few GiB at most.
func TestVariantsCoverRegistry(t *testing.T) {
	in := Incident()
	have := map[string]curve.Verdict{}
	for _, v := range in.Variants {
		have[v.Name] = v.Expect
		if v.Sandbox.MemoryLimit == 0 || v.Sandbox.MemoryLimit > 4<<30 {
			t.Errorf("%s: memory limit %d: want the guard at a few GiB at most", v.Name, v.Sandbox.MemoryLimit)
		}
	}
	for _, name := range boltcorrupt.Names() {
		if _, ok := have[name]; !ok {
			t.Errorf("corruption %s has no variant", name)
		}
	}
	if have["cycle-loop"] != curve.Breach || have["recovered"] != curve.Hold || have["meta-wrong-root"] != curve.Breach {
		t.Errorf("the incident's own variants: %v", have)
	}
	if len(in.Variants) != len(boltcorrupt.Names())+1 {
		t.Errorf("%d variants for %d corruptions + recovered", len(in.Variants), len(boltcorrupt.Names()))
	}
}

// TestEveryCorruptionIsMeasured fails when a corruption joins the Registry
// without its measured behaviour in expectations.
func TestEveryCorruptionIsMeasured(t *testing.T) {
	measured := expectations()
	for _, name := range boltcorrupt.Names() {
		if _, ok := measured[name]; !ok {
			t.Errorf("corruption %q has no measured expectation: measure it on the reference machine and add it to expectations", name)
		}
	}
}

// TestUnmeasuredCorruptionIsRefused: a corruption without a measurement
// makes the catalog fail, naming it, instead of running with a guess.
func TestUnmeasuredCorruptionIsRefused(t *testing.T) {
	measured := expectations()
	delete(measured, "cycle-loop")
	in := Incident()
	in.Variants = corruptionVariants(boltcorrupt.Registry(), measured)
	_, err := incident.NewCatalog(in)
	if err == nil || !strings.Contains(err.Error(), "cycle-loop") {
		t.Fatalf("catalog error %v, want one naming cycle-loop", err)
	}
	v, _ := in.Variant("cycle-loop")
	if !strings.Contains(v.Why, "no measured expectation") {
		t.Errorf("unmeasured variant's Why %q, want the reason", v.Why)
	}
}

// The measured builds, as data: zero-page breaches on 20.10.24 and holds on
// 26.1.5 and 28.5.2, whose bbolt checks page ids; every other corruption
// has one verdict on every build.
func TestZeroPageBreachesOnlyBeforeThePageIDCheck(t *testing.T) {
	for _, v := range Incident().Variants {
		for _, version := range []string{"20.10.24", "26.1.5", "28.5.2"} {
			want := v.Expect
			if v.Name == "zero-page" && version != "20.10.24" {
				want = curve.Hold
			}
			if got, why := v.ExpectOn(version); got != want {
				t.Errorf("%s on %s: expects %s (%s), want %s", v.Name, version, got, why, want)
			}
		}
	}
}
