package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
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

// noCase is a Case for plans that are never run.
type noCase struct{}

func (noCase) Start(context.Context, *incident.Env) (incident.Attempt, error) { return nil, nil }

func catalog(t *testing.T) incident.Catalog {
	t.Helper()
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	cat, err := incident.NewCatalog(
		incident.Incident{ID: "kill", Runtime: runtime.Dockerd, Regression: "leak", Variants: []incident.Variant{
			{Name: "leak", Expect: curve.Hold, Affected: incident.Ranges{{Before: "20.10.10", Note: "fixed in 20.10.10"}}, Why: "drains", Case: noCase{}, Budgets: budgets},
			{Name: "control", Expect: curve.Hold, Case: noCase{}, Budgets: budgets},
			{Name: "old", Expect: curve.Breach, Sandbox: incident.Sandbox{Version: "20.10.5"}, Case: noCase{}, Budgets: budgets},
			{Name: "cri", Expect: curve.Breach, Sandbox: incident.Sandbox{Runtime: runtime.Containerd}, Case: noCase{}, Budgets: budgets},
		}},
		incident.Incident{ID: "log", Runtime: runtime.Containerd, Regression: "unlimited", Variants: []incident.Variant{
			{Name: "unlimited", Expect: curve.Breach, Case: noCase{}, Budgets: budgets},
			{Name: "default", Expect: curve.Hold, Case: noCase{}, Budgets: budgets},
		}},
		incident.Incident{ID: "disk", Runtime: runtime.Dockerd, NotJudged: "a damaged file, not a setting", Variants: []incident.Variant{
			{Name: "torn", Expect: curve.Breach, Case: noCase{}, Budgets: budgets},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func names(p Plan) string {
	var n []string
	for _, it := range p.Items {
		n = append(n, it.Name()+"="+string(it.Expect))
	}
	return strings.Join(n, " ")
}

func TestPlanRunsEveryVariantOnItsOwnRuntime(t *testing.T) {
	p, err := NewPlan(catalog(t), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(p), "disk/torn=breach kill/leak=hold kill/control=hold kill/old=breach kill/cri=breach log/unlimited=breach log/default=hold"; got != want {
		t.Errorf("plan %s\nwant %s", got, want)
	}
	// The pinned dockerd and the containerd its release shipped with.
	if got := strings.Join(p.Builds(), " "); got != "containerd-1.4.13 dockerd-20.10.5" {
		t.Errorf("builds %q, want only the pinned dockerd-20.10.5 and its containerd-1.4.13", got)
	}
	cri := p.Items[4]
	if cri.Runtime != runtime.Containerd || strings.Join(cri.Labels(), ",") != "kill,containerd" {
		t.Errorf("cri item runs on %s with labels %v, want containerd and [kill containerd]", cri.Runtime, cri.Labels())
	}
	one, err := NewPlan(catalog(t), Filter{Incident: "kill", Variant: "old"})
	if err != nil || names(one) != "kill/old=breach" {
		t.Errorf("kill -variant old: %s, %v", names(one), err)
	}
	if got := strings.Join(one.Builds(), " "); got != "containerd-1.4.13 dockerd-20.10.5" {
		t.Errorf("builds of kill/old %q", got)
	}
	logOnly, _ := NewPlan(catalog(t), Filter{Incident: "log"})
	if len(logOnly.Builds()) != 0 {
		t.Errorf("log pins nothing, yet needs builds %v", logOnly.Builds())
	}
}

func TestPlanMatrixExpectsTheIncidentBeforeItsFix(t *testing.T) {
	cells, err := ParseCells("dockerd-20.10.24 dockerd-20.10.5 containerd-1.7.18")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(catalog(t), Filter{Incident: "kill", Runtimes: cells})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(p), "kill/control@dockerd-20.10.5=hold kill/control@dockerd-20.10.24=hold kill/cri@containerd-1.7.18=breach kill/leak@dockerd-20.10.5=breach kill/leak@dockerd-20.10.24=hold"; got != want {
		t.Errorf("matrix %s\nwant %s", got, want)
	}
	for _, it := range p.Items {
		if it.Cell == "dockerd-20.10.5" && it.Variant.Name == "leak" && it.Why != "20.10.5 is in <20.10.10; fixed in 20.10.10: the incident lives there" {
			t.Errorf("leak on 20.10.5: why %q", it.Why)
		}
		// 20.10.5 runs with its release's containerd; 20.10.24 with the
		// machine's, so its build is its cell.
		want := it.Cell
		if it.Cell == "dockerd-20.10.5" {
			want = "dockerd-20.10.5/containerd-1.4.13"
		}
		if it.Build() != want {
			t.Errorf("%s needs build %q, want %q", it.Name(), it.Build(), want)
		}
	}
	if _, err := NewPlan(catalog(t), Filter{Incident: "log", Runtimes: cells[:2]}); err == nil || !strings.Contains(err.Error(), "nothing to run on dockerd-20.10.24 dockerd-20.10.5") {
		t.Errorf("containerd incident on dockerd cells: %v, want 'nothing to run on ...'", err)
	}
}

// An incident fixed on each release line in its own patch release, and a
// variant whose breach newer builds no longer show (a finding): the matrix
// expects a breach exactly on the cells inside the ranges.
func TestPlanMatrixExpectsTheBreachExactlyWhereTheIncidentLives(t *testing.T) {
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	lines, err := incident.ParseRanges(">=1.7.0 <1.7.35, >=2.0.0 <2.0.12, >=2.2.0 <2.2.8, >=2.3.0 <2.3.5")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := incident.NewCatalog(
		incident.Incident{ID: "exec", Runtime: runtime.Containerd, Variants: []incident.Variant{
			{Name: "probe", Expect: curve.Hold, Why: "drains", Affected: lines, Case: noCase{}, Budgets: budgets},
		}},
		incident.Incident{ID: "bolt", Runtime: runtime.Dockerd, Variants: []incident.Variant{
			{Name: "zero", Expect: curve.Breach, Why: "walks for ever", Case: noCase{}, Budgets: budgets,
				Affected: incident.Ranges{{Before: "28.5.2", Note: "finding: 28.5.2 fails fast, peak 70.8 MiB"}}},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cells, err := ParseCells("containerd-1.6.20 containerd-1.7.34 containerd-1.7.35 containerd-2.0.11 containerd-2.0.12 containerd-2.1.9 " +
		"containerd-2.2.7 containerd-2.2.8 containerd-2.3.4 containerd-2.3.5 containerd-2.4.2 dockerd-20.10.24 dockerd-28.5.2 dockerd-29.1.0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(cat, Filter{Runtimes: cells})
	if err != nil {
		t.Fatal(err)
	}
	want := "bolt/zero@dockerd-20.10.24=breach bolt/zero@dockerd-28.5.2=hold bolt/zero@dockerd-29.1.0=hold " +
		"exec/probe@containerd-1.6.20=hold exec/probe@containerd-1.7.34=breach exec/probe@containerd-1.7.35=hold " +
		"exec/probe@containerd-2.0.11=breach exec/probe@containerd-2.0.12=hold exec/probe@containerd-2.1.9=hold " +
		"exec/probe@containerd-2.2.7=breach exec/probe@containerd-2.2.8=hold exec/probe@containerd-2.3.4=breach " +
		"exec/probe@containerd-2.3.5=hold exec/probe@containerd-2.4.2=hold"
	if got := names(p); got != want {
		t.Errorf("matrix %s\nwant %s", got, want)
	}
	why := map[string]string{}
	for _, it := range p.Items {
		why[it.Name()] = it.Why
	}
	for name, want := range map[string]string{
		"exec/probe@containerd-2.2.7": "2.2.7 is in >=2.2.0 <2.2.8: the incident lives there",
		"exec/probe@containerd-2.2.8": "drains (2.2.8 is outside >=2.2.0 <2.2.8)",
		"bolt/zero@dockerd-20.10.24":  "walks for ever (20.10.24 is in <28.5.2; finding: 28.5.2 fails fast, peak 70.8 MiB)",
		"bolt/zero@dockerd-29.1.0":    "29.1.0 is outside <28.5.2; finding: 28.5.2 fails fast, peak 70.8 MiB: the incident does not live there",
	} {
		if why[name] != want {
			t.Errorf("%s: why %q\nwant %q", name, why[name], want)
		}
	}
}

func TestPlanRepinRunsAPinnedVariantOnTheCells(t *testing.T) {
	cells, err := ParseCells("dockerd-20.10.24 dockerd-20.10.10")
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{Incident: "kill", Variant: "old", Runtimes: cells}
	if _, err := NewPlan(catalog(t), f); err == nil {
		t.Errorf("a pinned variant on a matrix without Repin planned something")
	}
	f.Repin = true
	p, err := NewPlan(catalog(t), f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(p), "kill/old@dockerd-20.10.10=breach kill/old@dockerd-20.10.24=breach"; got != want {
		t.Errorf("repinned %s\nwant %s", got, want)
	}
	for _, it := range p.Items {
		if it.Build() != it.Cell {
			t.Errorf("%s needs build %q, want its cell, not the pin", it.Name(), it.Build())
		}
	}
}

func TestPlanRegressionJudgesTheUsersConfig(t *testing.T) {
	p, err := NewPlan(catalog(t), Filter{ContainerdConfig: "/etc/containerd/config.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if names(p) != "log/unlimited=hold" || p.Items[0].UserConfig != "/etc/containerd/config.toml" {
		t.Errorf("regression plan %s (config %q), want log/unlimited=hold on the user's file", names(p), p.Items[0].UserConfig)
	}
	nj := strings.Join(p.NotJudged, "; ")
	if !strings.Contains(nj, "disk: a damaged file, not a setting") || !strings.Contains(nj, "kill: runs on dockerd, and no dockerd configuration was given") {
		t.Errorf("not judged %q", nj)
	}
	if !strings.Contains(strings.Join(p.Items[0].Labels(), ","), "regression") {
		t.Errorf("labels %v lack regression", p.Items[0].Labels())
	}
	if _, err := NewPlan(catalog(t), Filter{Incident: "disk", DockerdConfig: "/x.json"}); err == nil || !strings.Contains(err.Error(), "nothing to judge") {
		t.Errorf("disk in regression: %v", err)
	}
}

func TestPlanNamesBadInput(t *testing.T) {
	for f, want := range map[*Filter]string{
		{Incident: "typo"}:                 `unknown incident "typo"; known incidents: disk, kill, log`,
		{Variant: "nope"}:                  `unknown variant "nope"; known variants: torn, leak, control, old, cri, unlimited, default`,
		{Incident: "log", Variant: "leak"}: `unknown variant "leak"; known variants: unlimited, default`,
	} {
		if _, err := NewPlan(catalog(t), *f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *f, err, want)
		}
	}
}

func TestFilterFromEnv(t *testing.T) {
	env := map[string]string{EnvIncident: "kill", EnvRuntimes: "dockerd-20.10.5", runtime.EnvDockerdConfig: "/d.json"}
	f, err := FilterFromEnv(func(k string) string { return env[k] })
	if err != nil || f.Incident != "kill" || len(f.Runtimes) != 1 || f.Regression() {
		t.Errorf("filter %+v, %v: want kill on one cell, and no regression without %s=1", f, err, EnvRegression)
	}
	env = map[string]string{EnvRegression: "1"}
	if _, err := FilterFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), runtime.EnvContainerdConfig) {
		t.Errorf("regression without a config: %v", err)
	}
	env = map[string]string{EnvRuntimes: "containerd-latest"}
	if _, err := FilterFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvRuntimes) {
		t.Errorf("bad runtimes: %v", err)
	}
}

// A variant with Affected ranges run on the binary found on PATH learns its
// expectation from that build's version; a cell, a pinned version or a
// regression run keeps the plan's.
func TestExpectOnFoundBuild(t *testing.T) {
	p, err := NewPlan(catalog(t), Filter{Incident: "kill"})
	if err != nil {
		t.Fatal(err)
	}
	leak, control := p.Items[0], p.Items[1]
	if exp, why, ok := expectOnFoundBuild(leak, "20.10.5"); !ok || exp != curve.Breach || !strings.Contains(why, "20.10.5 is in <20.10.10") {
		t.Errorf("leak on a found 20.10.5: %s %q %v, want breach", exp, why, ok)
	}
	if _, _, ok := expectOnFoundBuild(leak, "20.10.24"); ok {
		t.Errorf("leak on a found 20.10.24 changed the plan's hold")
	}
	if _, _, ok := expectOnFoundBuild(control, "20.10.5"); ok {
		t.Errorf("a variant without ranges changed its expectation")
	}
	for name, it := range map[string]Item{
		"cell":       func() Item { it := leak; it.Cell = "dockerd-20.10.24"; return it }(),
		"regression": func() Item { it := leak; it.UserConfig = "/d.json"; return it }(),
		"pinned":     func() Item { it := leak; it.Variant.Sandbox.Version = "20.10.24"; return it }(),
	} {
		if _, _, ok := expectOnFoundBuild(it, "20.10.5"); ok {
			t.Errorf("%s: the found build overrode the plan", name)
		}
	}
}
