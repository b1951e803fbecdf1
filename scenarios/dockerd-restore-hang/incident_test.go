package dockerdrestorehang

import (
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/powerloss"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/incident/incidenttest"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	if in.ID != "dockerd-restore-hang" {
		t.Errorf("id %q, want the directory's name dockerd-restore-hang", in.ID)
	}
	if in.Regression != "" || in.NotJudged == "" {
		t.Errorf("regression %q, not judged %q: want no regression variant and the reason", in.Regression, in.NotJudged)
	}
	want := []struct {
		name            string
		expect          curve.Verdict
		watchContainerd bool
		bootFor         time.Duration
	}{
		{"meta-cycle", curve.Breach, true, 60 * time.Second},
		{"zeroed-v1", curve.Hold, true, 60 * time.Second},
		{"lock-held", curve.Breach, false, 90 * time.Second},
	}
	if len(in.Variants) != len(want) {
		t.Fatalf("%d variants, want %d", len(in.Variants), len(want))
	}
	for i, w := range want {
		v := in.Variants[i]
		if v.Name != w.name || v.Expect != w.expect {
			t.Errorf("variant %d: %s expects %s, want %s expects %s", i, v.Name, v.Expect, w.name, w.expect)
		}
		c, ok := v.Case.(powerloss.Case)
		if !ok {
			t.Errorf("%s: case %T, want a powerloss.Case", v.Name, v.Case)
			continue
		}
		if c.WatchContainerd != w.watchContainerd || c.BootFor != w.bootFor {
			t.Errorf("%s: watches containerd %v for %s, want %v for %s", v.Name, c.WatchContainerd, c.BootFor, w.watchContainerd, w.bootFor)
		}
		if v.Sandbox.MemoryLimit == 0 || v.Sandbox.MemoryLimit > 4<<30 {
			t.Errorf("%s: memory limit %d: want the guard at a few GiB at most", v.Name, v.Sandbox.MemoryLimit)
		}
	}
	// lock-held's restart must outlast dockerd's own ~61 s give-up on the
	// lock, or the run shows a kill, not how the hang ends.
	if lock := in.Variants[2].Case.(powerloss.Case); lock.AfterLoss == nil || lock.BootFor <= 61*time.Second {
		t.Errorf("lock-held: hook set %v, restart bounded at %s: want the lock held and > 61 s", lock.AfterLoss != nil, lock.BootFor)
	}
}

// The measured builds, as data: with local-kv.db's lock held, 20.10.24 and
// 26.1.5 hang past the budget and 28.5.2 gives up at once.
func TestLockHeldHangsOnlyBefore28(t *testing.T) {
	incidenttest.ExpectOn(t, Incident(), "lock-held",
		map[string]curve.Verdict{"20.10.24": curve.Breach, "26.1.5": curve.Breach, "28.5.2": curve.Hold, "29.0.0": curve.Hold})
}

// The measured builds, as data: the cycle in meta.db hangs the restart
// with 20.10's containerd, and the containerd 26.1.5 and later ship with
// panics on it instead.
func TestMetaCycleHangsOnlyBefore26(t *testing.T) {
	incidenttest.ExpectOn(t, Incident(), "meta-cycle", map[string]curve.Verdict{"20.10.5": curve.Breach, "20.10.24": curve.Breach,
		"26.1.5": curve.Hold, "28.5.2": curve.Hold, "29.8.1": curve.Hold})
}
