package incident

import (
	"context"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestParseRangesReadsAdvisoryRanges(t *testing.T) {
	rs, err := ParseRanges(" >=1.7.0 <1.7.35, >=2.0.0 <2.0.12,<1.6.99 , >=2.4.0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rs.String(), ">=1.7.0 <1.7.35, >=2.0.0 <2.0.12, <1.6.99, >=2.4.0"; got != want {
		t.Errorf("ranges %q, want %q", got, want)
	}
	for version, want := range map[string]bool{
		"1.6.20": true, "1.6.99": false, "1.7.0": true, "1.7.34": true, "1.7.35": false,
		"2.0.11": true, "2.0.12": false, "2.1.9": false, "2.3.9": false, "2.4.0": true, "2.4.2": true,
	} {
		if _, got := rs.Find(version); got != want {
			t.Errorf("%s affected: %v, want %v", version, got, want)
		}
	}
}

func TestParseRangesNamesWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "an empty range",
		"<1.7.35,":                  "an empty range",
		"<=1.7.35":                  `bound "<=1.7.35": want at most one >=x.y.z`,
		">=1.7.0 >=1.7.2":           `bound ">=1.7.2"`,
		"<1.7":                      `bound "1.7" is not a release number`,
		">=v1.7.0":                  `bound "v1.7.0" is not a release number`,
		">=1.7.35 <1.7.0":           "range >=1.7.35 <1.7.0 is empty",
		">=1.7.0 <1.7.35, <1.7.10":  "ranges <1.7.10 and >=1.7.0 <1.7.35 overlap",
		">=2.0.0, >=2.2.0 <2.2.8":   "ranges >=2.0.0 and >=2.2.0 <2.2.8 overlap",
		">=1.7.0 <1.7.35, >=1.7.34": "overlap",
	} {
		if _, err := ParseRanges(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRanges(%q) = %v, want an error saying %q", in, err, want)
		}
	}
	if err := (Ranges{{Note: "no bounds"}}).Validate(); err == nil || !strings.Contains(err.Error(), "neither bound") {
		t.Errorf("a range without bounds: %v", err)
	}
}

type nopCase struct{}

func (nopCase) Start(context.Context, *Env) (Attempt, error) { return nil, nil }

// A pinned variant's expectation and its ranges are the same claim twice:
// validation refuses them when they disagree.
func TestVariantAffectedAgreesWithItsPinnedBuild(t *testing.T) {
	budgets := []curve.Budget{{Metric: "m", Kind: curve.Ceiling, Max: 1}}
	fixedIn235 := Ranges{{From: "2.3.0", Before: "2.3.5", Note: "fixed in 2.3.5"}}
	ok := Variant{Name: "fixed", Expect: curve.Hold, Sandbox: Sandbox{Version: "2.3.5"}, Affected: fixedIn235, Case: nopCase{}, Budgets: budgets}
	if err := ok.validate(); err != nil {
		t.Errorf("fixed on 2.3.5: %v", err)
	}
	bad := ok
	bad.Sandbox.Version = "2.3.4"
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "expects hold on its pinned 2.3.4, but Affected (>=2.3.0 <2.3.5) says breach there") {
		t.Errorf("hold pinned inside the range: %v", err)
	}
	bad = ok
	bad.Affected = Ranges{{From: "2.3.5", Before: "2.3.0"}}
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "Affected: range >=2.3.5 <2.3.0 is empty") {
		t.Errorf("reversed range: %v", err)
	}
}

func TestExpectOnSaysWhy(t *testing.T) {
	hold := Variant{Expect: curve.Hold, Why: "drains", Affected: Ranges{{Before: "20.10.10", Note: "fixed by PR 42956"}}}
	for version, want := range map[string]string{
		"20.10.5":  "breach 20.10.5 is in <20.10.10; fixed by PR 42956: the incident lives there",
		"20.10.24": "hold drains (20.10.24 is outside <20.10.10; fixed by PR 42956)",
	} {
		if v, why := hold.ExpectOn(version); string(v)+" "+why != want {
			t.Errorf("hold variant on %s: %s %s, want %s", version, v, why, want)
		}
	}
	breach := Variant{Expect: curve.Breach, Why: "loops", Affected: Ranges{{From: "1.7.0", Before: "1.7.35", Note: "fix A"}, {From: "2.0.0", Before: "2.0.12", Note: "fix B"}}}
	for version, want := range map[string]string{
		"2.0.3":  "breach loops (2.0.3 is in >=2.0.0 <2.0.12; fix B)",
		"1.7.40": "hold 1.7.40 is outside >=1.7.0 <1.7.35; fix A: the incident does not live there",
		"2.0.12": "hold 2.0.12 is outside >=2.0.0 <2.0.12; fix B: the incident does not live there",
		"1.6.20": "hold 1.6.20 is outside >=1.7.0 <1.7.35; fix A: the incident does not live there",
	} {
		if v, why := breach.ExpectOn(version); string(v)+" "+why != want {
			t.Errorf("breach variant on %s: %s %s\nwant %s", version, v, why, want)
		}
	}
	plain := Variant{Expect: curve.Breach, Why: "always"}
	if v, why := plain.ExpectOn("1.0.0"); v != curve.Breach || why != "always" {
		t.Errorf("no ranges: %s %q, want the declared breach", v, why)
	}
}
