package engine

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// The guest targets select from the plan by the marker's labels: "guest"
// is every guest variant, "guest-check" only the short check.
func TestPlanLabelSelectsGuestVariants(t *testing.T) {
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	cat, err := incident.NewCatalog(incident.Incident{ID: "log", Runtime: runtime.Containerd, Variants: []incident.Variant{
		{Name: "unlimited", Expect: curve.Breach, Guest: incident.InGuest, Case: noCase{}, Budgets: budgets},
		{Name: "default", Expect: curve.Hold, Guest: incident.GuestCheck, Case: noCase{}, Budgets: budgets},
		{Name: "host-only", Expect: curve.Hold, Case: noCase{}, Budgets: budgets},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]string{
		"guest":       "log/unlimited log/default",
		"guest-check": "log/default",
		"":            "log/unlimited log/default log/host-only",
	} {
		p, err := NewPlan(cat, Filter{Label: label})
		if err != nil {
			t.Fatalf("label %q: %v", label, err)
		}
		var names []string
		for _, it := range p.Items {
			names = append(names, it.Name())
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("label %q selects %q, want %q", label, got, want)
		}
	}
	_, err = NewPlan(cat, Filter{Label: "gest"})
	if err == nil || !strings.Contains(err.Error(), `no selected variant carries label "gest"`) || !strings.Contains(err.Error(), "guest-check") {
		t.Errorf("unknown label: %v, want an error listing the labels there are", err)
	}
	if _, err := incident.NewCatalog(incident.Incident{ID: "x", Runtime: runtime.Containerd, Variants: []incident.Variant{
		{Name: "v", Expect: curve.Hold, Guest: "vm", Case: noCase{}, Budgets: budgets},
	}}); err == nil || !strings.Contains(err.Error(), `Guest "vm"`) {
		t.Errorf("a bad guest marker: %v, want an error naming it", err)
	}
}
