package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestValidateNamesWhatIsWrong(t *testing.T) {
	stim := func(context.Context, *Env) error { return nil }
	ok := Variant{Name: "v", Expect: curve.Hold, Stimulus: stim,
		Budgets: []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}}
	good := Scenario{ID: "some-incident", Runtime: runtime.Containerd, Variants: []Variant{ok}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Scenario)) Scenario {
		s := good
		s.Variants = append([]Variant(nil), good.Variants...)
		f(&s)
		return s
	}
	for want, s := range map[string]Scenario{
		`scenario id "Bad_ID"`:        with(func(s *Scenario) { s.ID = "Bad_ID" }),
		`unknown runtime "podman"`:    with(func(s *Scenario) { s.Runtime = "podman" }),
		"no variants":                 with(func(s *Scenario) { s.Variants = nil }),
		`variant "v" declared twice`:  with(func(s *Scenario) { s.Variants = append(s.Variants, ok) }),
		`expect must be`:              with(func(s *Scenario) { s.Variants[0].Expect = "maybe" }),
		"no stimulus":                 with(func(s *Scenario) { s.Variants[0].Stimulus = nil }),
		"no budgets":                  with(func(s *Scenario) { s.Variants[0].Budgets = nil }),
		`unknown kind "max"`:          with(func(s *Scenario) { s.Variants[0].Budgets = []curve.Budget{{Metric: "m", Kind: "max"}} }),
		`variant name "With Space"`:   with(func(s *Scenario) { s.Variants[0].Name = "With Space" }),
		"Cell is set by a matrix run": with(func(s *Scenario) { s.Variants[0].Cell = "containerd-1.7.18" }),
		`FixedIn "soon"`:              with(func(s *Scenario) { s.Variants[0].FixedIn = "soon" }),
		`FixedIn "1.2.3": want`: with(func(s *Scenario) {
			s.Variants[0].Expect, s.Variants[0].FixedIn = curve.Breach, "1.2.3"
		}),
		`regression variant "nope"`: with(func(s *Scenario) { s.Regression = "nope" }),
		"Attempts 5: want 0 to 3":   with(func(s *Scenario) { s.Variants[0].Attempts = 5 }),
	} {
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}
