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
			{Name: "leak", Expect: curve.Hold, FixedIn: "20.10.10", Why: "drains", Case: noCase{}, Budgets: budgets},
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
	if got := strings.Join(p.Builds(), " "); got != "dockerd-20.10.5" {
		t.Errorf("builds %q, want only the pinned dockerd-20.10.5", got)
	}
	cri := p.Items[4]
	if cri.Runtime != runtime.Containerd || strings.Join(cri.Labels(), ",") != "kill,containerd" {
		t.Errorf("cri item runs on %s with labels %v, want containerd and [kill containerd]", cri.Runtime, cri.Labels())
	}
	one, err := NewPlan(catalog(t), Filter{Incident: "kill", Variant: "old"})
	if err != nil || names(one) != "kill/old=breach" {
		t.Errorf("kill -variant old: %s, %v", names(one), err)
	}
	if got := strings.Join(one.Builds(), " "); got != "dockerd-20.10.5" {
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
		if it.Cell == "dockerd-20.10.5" && it.Variant.Name == "leak" && !strings.Contains(it.Why, "predates the fix in 20.10.10") {
			t.Errorf("leak on 20.10.5: why %q", it.Why)
		}
		if it.Build() != it.Cell {
			t.Errorf("%s needs build %q, want its cell", it.Name(), it.Build())
		}
	}
	if _, err := NewPlan(catalog(t), Filter{Incident: "log", Runtimes: cells[:2]}); err == nil || !strings.Contains(err.Error(), "nothing to run on dockerd-20.10.24 dockerd-20.10.5") {
		t.Errorf("containerd incident on dockerd cells: %v, want 'nothing to run on ...'", err)
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
