package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/scenarios"
)

func TestRunJobsFlag(t *testing.T) {
	for _, tc := range []struct {
		flagged int
		env     string
		want    int
		err     string
	}{
		{0, "", 1, ""},
		{0, "3", 3, ""},
		{2, "3", 2, ""},
		{0, "two", 0, `RELAPSE_JOBS="two"`},
		{0, "0", 0, `RELAPSE_JOBS="0"`},
		{-1, "", 0, "-jobs -1"},
	} {
		n, err := runJobsFlag(tc.flagged, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("-jobs %d, RELAPSE_JOBS=%q: %d, %v; want an error naming %s", tc.flagged, tc.env, n, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.want {
			t.Errorf("-jobs %d, RELAPSE_JOBS=%q: %d, %v; want %d", tc.flagged, tc.env, n, err, tc.want)
		}
	}
	if code, _, errs := relapse(t, "run", "-jobs", "-2", "containerd-huge-log-line"); code != exitUsage || !strings.Contains(errs, "-jobs -2") {
		t.Errorf("relapse run -jobs -2: exit %d, %q; want a usage error naming -jobs", code, errs)
	}
}

// TestAloneIsInThePlan: the items that need the machine to themselves
// carry the alone label, so `relapse plan -label alone` lists what a run
// with several jobs keeps for last: every variant of the incident that
// counts the whole machine's dentries and loads all its cores, and the
// variants whose outcome races inside the daemon.
func TestAloneIsInThePlan(t *testing.T) {
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var alone []string
	for _, it := range p.Items {
		if it.Alone() && !strings.HasPrefix(it.Name(), "php-tmpfile-dentry/") {
			alone = append(alone, it.Name())
		}
		if !it.Alone() && it.Incident.ID == "php-tmpfile-dentry" {
			t.Errorf("%s shares the machine; its incident measures or loads all of it", it.Name())
		}
	}
	if got, want := strings.Join(alone, " "), "dockerd-boltdb-corrupt/zero-page dockerd-boltdb-corrupt/cycle-loop"; got != want {
		t.Errorf("alone outside php: %s, want %s (the variants whose outcome races in dockerd)", got, want)
	}
	out, _ := wantCode(t, []string{"plan", "-label", engine.AloneLabel}, exitOK)
	if !strings.Contains(out, "php-tmpfile-dentry/small-bodies") || !strings.Contains(out, "dockerd-boltdb-corrupt/zero-page") || strings.Contains(out, "dockerd-kill-dstate") {
		t.Errorf("relapse plan -label alone:\n%s\nwant the php variants and zero-page, not the kill loop", out)
	}
}

// TestDispatchOrder: engine.SideBySide on the real catalog with no past
// runs puts the shared items longest first by timeout (the kill loops'
// 11 min before the power losses' 9), the alone ones after, in plan order.
func TestDispatchOrder(t *testing.T) {
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	shared, alone := engine.SideBySide(p.Items, nil)
	if len(shared)+len(alone) != len(p.Items) {
		t.Fatalf("%d shared and %d alone of %d items", len(shared), len(alone), len(p.Items))
	}
	for i := 1; i < len(shared); i++ {
		if shared[i].Timeout() > shared[i-1].Timeout() {
			t.Errorf("%s (%s) after %s (%s): want longest first", shared[i].Name(), shared[i].Timeout(), shared[i-1].Name(), shared[i-1].Timeout())
		}
	}
	if shared[0].Incident.ID != "dockerd-kill-dstate" {
		t.Errorf("first shared item %s, want a kill loop (the longest)", shared[0].Name())
	}
	for i, it := range alone {
		if !it.Alone() || (i > 0 && slices.IndexFunc(p.Items, func(x engine.Item) bool { return x.Name() == it.Name() }) < slices.IndexFunc(p.Items, func(x engine.Item) bool { return x.Name() == alone[i-1].Name() })) {
			t.Errorf("alone items %v: want the alone ones in plan order", alone)
			break
		}
	}
}

// TestDispatchOrderByPastWalls: items a recent run timed go longest first
// by that wall time, after the untimed ones (by timeout); a kill loop that
// took less than a power loss goes after it.
func TestDispatchOrderByPastWalls(t *testing.T) {
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	walls := results.Walls{
		"dockerd-kill-dstate/control":     50 * time.Second,
		"dockerd-kill-dstate/dstate":      86 * time.Second,
		"dockerd-restore-hang/lock-held":  60 * time.Second,
		"dockerd-boltdb-corrupt/truncate": 12 * time.Second,
		"php-tmpfile-dentry/small-bodies": 90 * time.Second, // alone: not reordered
	}
	shared, alone := engine.SideBySide(p.Items, walls)
	names := func(items []engine.Item) string {
		var n []string
		for _, it := range items {
			n = append(n, it.Name())
		}
		return strings.Join(n, " ")
	}
	var timed []string
	for i, it := range shared {
		if _, ok := walls[it.Name()]; ok {
			timed = append(timed, it.Name())
		} else if len(timed) > 0 {
			t.Errorf("untimed %s at %d, after timed %v: want the untimed first", it.Name(), i, timed)
		}
	}
	want := "dockerd-kill-dstate/dstate dockerd-restore-hang/lock-held dockerd-kill-dstate/control dockerd-boltdb-corrupt/truncate"
	if got := strings.Join(timed, " "); got != want {
		t.Errorf("timed items in order %s, want %s (longest wall first)", got, want)
	}
	_, untimed := engine.SideBySide(p.Items, nil)
	if got, want := names(alone), names(untimed); got != want {
		t.Errorf("alone items %s, want %s (plan order whatever their walls)", got, want)
	}
}

// TestExplainJobs: after a run with jobs, every item missing from the
// merged run or off its expected verdict gets a line, and only those.
func TestExplainJobs(t *testing.T) {
	p, err := engine.NewPlan(scenarios.All(), engine.Filter{Incident: "containerd-huge-log-line"})
	if err != nil {
		t.Fatal(err)
	}
	run := results.Run{Results: []results.Result{{
		Incident: "containerd-huge-log-line", Variant: "unlimited", Runtime: "containerd", Version: "1.6.20",
		Expect: string(curve.Breach), Verdict: string(curve.Breach), OK: true,
	}}}
	var out bytes.Buffer
	if explainJobs(&out, p.Items, run, "results/x") {
		t.Errorf("a run missing the default variant explained as ok")
	}
	if got := out.String(); !strings.Contains(got, "containerd-huge-log-line/default: not run") || strings.Contains(got, "unlimited") {
		t.Errorf("explanations:\n%s\nwant one line, for the default variant that was not run", got)
	}
}
