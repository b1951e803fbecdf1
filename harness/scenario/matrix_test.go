package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestParseCells(t *testing.T) {
	cells, err := ParseCells(" containerd-1.6.20,containerd-2.0.14\tdockerd-20.10.5 ")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cells {
		names = append(names, c.String())
	}
	if got := strings.Join(names, " "); got != "containerd-1.6.20 containerd-2.0.14 dockerd-20.10.5" {
		t.Errorf("cells %q", got)
	}
	if cells[2].Runtime != runtime.Dockerd || cells[2].Version != "20.10.5" {
		t.Errorf("dockerd cell parsed as %+v", cells[2])
	}
	for list, want := range map[string]string{
		"":                                    "no runtimes listed",
		"podman-4.0":                          `runtime "podman-4.0": want <containerd|dockerd>-<version>`,
		"containerd":                          `runtime "containerd": want`,
		"containerd-latest":                   `version "latest" is not a release number`,
		"containerd-1.7.18 containerd-1.7.18": `"containerd-1.7.18" is listed twice`,
		"dockerd-20.10.5+dfsg1":               "is not a release number",
		"dockerd-../../bin":                   "is not a release number",
	} {
		if _, err := ParseCells(list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCells(%q) = %v, want an error saying %q", list, err, want)
		}
	}
}

func TestInCellRunsUnpinnedVariantsOnTheCellsBuild(t *testing.T) {
	stim := func(context.Context, *Env) error { return nil }
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	s := Scenario{ID: "kill", Runtime: runtime.Dockerd, Variants: []Variant{
		{Name: "leak", Expect: curve.Hold, FixedIn: "20.10.10", Why: "drains", Stimulus: stim, Budgets: budgets},
		{Name: "control", Expect: curve.Hold, Stimulus: stim, Budgets: budgets},
		{Name: "old", Expect: curve.Breach, Sandbox: SandboxSpec{Version: "20.10.5"}, Stimulus: stim, Budgets: budgets},
		{Name: "cri", Expect: curve.Breach, Sandbox: SandboxSpec{Runtime: runtime.Containerd}, Stimulus: stim, Budgets: budgets},
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	got := map[string]Variant{}
	for _, v := range s.InCell(Cell{Runtime: runtime.Dockerd, Version: "20.10.5"}) {
		got[v.Name] = v
	}
	if len(got) != 2 {
		t.Fatalf("variants in dockerd-20.10.5: %v, want leak and control (pinned and containerd variants left out)", got)
	}
	leak := got["leak"]
	if leak.Expect != curve.Breach || leak.Cell != "dockerd-20.10.5" || leak.Sandbox.Version != "20.10.5" || !strings.Contains(leak.Why, "predates the fix in 20.10.10") {
		t.Errorf("leak on 20.10.5 = expect %s, cell %q, version %q, why %q; want a breach before the fix", leak.Expect, leak.Cell, leak.Sandbox.Version, leak.Why)
	}
	if got["control"].Expect != curve.Hold {
		t.Errorf("control without FixedIn expects %s on 20.10.5, want hold", got["control"].Expect)
	}
	for _, v := range s.InCell(Cell{Runtime: runtime.Dockerd, Version: "20.10.24"}) {
		if v.Expect != curve.Hold {
			t.Errorf("%s on 20.10.24 (after the fix) expects %s, want hold", v.Name, v.Expect)
		}
	}
	if s.Variants[0].Cell != "" || s.Variants[0].Expect != curve.Hold {
		t.Errorf("InCell changed the scenario's own variant: %+v", s.Variants[0])
	}
	cri := s.InCell(Cell{Runtime: runtime.Containerd, Version: "1.7.18"})
	if len(cri) != 1 || cri[0].Name != "cri" || cri[0].Sandbox.Version != "1.7.18" {
		t.Errorf("containerd-1.7.18 runs %+v, want only the cri variant on 1.7.18", cri)
	}
}

func TestRegressionVariantMustHold(t *testing.T) {
	stim := func(context.Context, *Env) error { return nil }
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	s := Scenario{ID: "log", Runtime: runtime.Containerd, Variants: []Variant{
		{Name: "unlimited", Expect: curve.Breach, Stimulus: stim, Budgets: budgets},
		{Name: "default", Expect: curve.Hold, Stimulus: stim, Budgets: budgets},
	}}
	if _, ok := s.RegressionVariant(); ok {
		t.Errorf("a scenario without Regression has a regression variant")
	}
	s.Regression = "unlimited"
	v, ok := s.RegressionVariant()
	if !ok || v.Name != "unlimited" || v.Expect != curve.Hold {
		t.Errorf("RegressionVariant = %s expecting %s (ok %v), want unlimited expecting hold", v.Name, v.Expect, ok)
	}
}
