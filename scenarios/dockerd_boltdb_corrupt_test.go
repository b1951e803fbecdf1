package scenarios

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
)

// TestBoltVariantsCoverRegistry keeps the incident's variants in step with
// boltcorrupt's Registry: one variant per corruption, plus the workaround.
func TestBoltVariantsCoverRegistry(t *testing.T) {
	s, err := ByID("dockerd-boltdb-corrupt")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]curve.Verdict{}
	for _, v := range s.Variants {
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
	if len(s.Variants) != len(boltcorrupt.Names())+1 {
		t.Errorf("%d variants for %d corruptions + recovered", len(s.Variants), len(boltcorrupt.Names()))
	}
}

func TestBootExitCode(t *testing.T) {
	for status, want := range map[string]float64{"exit status 2": 2, "exit status 1": 1, "signal: killed": 137} {
		if got, ok := bootExitCode(status); !ok || got != want {
			t.Errorf("bootExitCode(%q) = %v, %v; want %v", status, got, ok, want)
		}
	}
	if _, ok := bootExitCode("running"); ok {
		t.Error(`bootExitCode("running") is ok`)
	}
}
