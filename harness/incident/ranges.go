package incident

import (
	"fmt"
	"slices"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Range is where an incident lives on one release line: every release from
// From (inclusive) up to Before (exclusive). An empty From means every
// release before Before; an empty Before means every release from From on
// (not fixed, or not measured beyond). Real incidents need one Range per
// release line, because a fix lands on each maintained line in its own
// patch release (containerd's ExecSync leak: fixed in 1.7.35, 2.0.12, 2.2.8
// and 2.3.5) and a regression can be introduced in one patch release.
type Range struct {
	From, Before string
	// Note says where the bounds come from: the fix (a release note, a
	// PR), or a finding with its evidence (the build measured and the
	// run's headline number), so `relapse plan` can say why a cell expects
	// what it expects.
	Note string
}

// Ranges are the disjoint releases an incident lives in. The zero value
// is "no ranges declared": a variant's expectation is then the same on
// every build.
type Ranges []Range

// String is the range as ParseRanges reads it, e.g. ">=1.7.0 <1.7.35".
func (r Range) String() string {
	switch {
	case r.From == "":
		return "<" + r.Before
	case r.Before == "":
		return ">=" + r.From
	}
	return ">=" + r.From + " <" + r.Before
}

// String is the ranges as ParseRanges reads them, joined by ", ".
func (rs Ranges) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// ParseRanges reads ranges written the way release notes and advisories
// put them: comma-separated, each one or two bounds, e.g.
// ">=1.7.0 <1.7.35, >=2.0.0 <2.0.12" or "<20.10.10". The result is
// validated; notes are left empty.
func ParseRanges(s string) (Ranges, error) {
	var rs Ranges
	for _, part := range strings.Split(s, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			return nil, fmt.Errorf("ranges %q: an empty range: want e.g. %q", s, ">=1.7.0 <1.7.35, >=2.0.0 <2.0.12")
		}
		var r Range
		for _, f := range fields {
			switch {
			case strings.HasPrefix(f, ">=") && r.From == "":
				r.From = f[2:]
			case strings.HasPrefix(f, "<") && !strings.HasPrefix(f, "<=") && r.Before == "":
				r.Before = f[1:]
			default:
				return nil, fmt.Errorf("ranges %q: bound %q: want at most one >=x.y.z (first affected) and one <x.y.z (first not affected) per range", s, f)
			}
		}
		rs = append(rs, r)
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	return rs, nil
}

// Validate reports ranges that cannot be meant: a bound that is not a
// release number, an empty or reversed range, or two ranges that overlap.
func (rs Ranges) Validate() error {
	for _, r := range rs {
		if r.From == "" && r.Before == "" {
			return fmt.Errorf("range with neither bound: give From (first affected release) and/or Before (first release without the incident)")
		}
		for _, v := range []string{r.From, r.Before} {
			if v != "" && !releasePattern.MatchString(v) {
				return fmt.Errorf("range %s: bound %q is not a release number like 1.7.35", r, v)
			}
		}
		if r.From != "" && r.Before != "" && runtime.CompareVersions(r.From, r.Before) >= 0 {
			return fmt.Errorf("range %s is empty: From must come before Before", r)
		}
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b Range) int { return compareLow(a.From, b.From) })
	for i := 1; i < len(sorted); i++ {
		prev, next := sorted[i-1], sorted[i]
		if prev.Before == "" || runtime.CompareVersions(next.From, prev.Before) < 0 {
			return fmt.Errorf("ranges %s and %s overlap: give each release line its own range", prev, next)
		}
	}
	return nil
}

// compareLow orders lower bounds, the empty one (no lower bound) first.
func compareLow(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	return runtime.CompareVersions(a, b)
}

// Contains says whether version lies in r.
func (r Range) Contains(version string) bool {
	return (r.From == "" || runtime.CompareVersions(version, r.From) >= 0) &&
		(r.Before == "" || runtime.CompareVersions(version, r.Before) < 0)
}

// Find returns the range version lies in.
func (rs Ranges) Find(version string) (Range, bool) {
	for _, r := range rs {
		if r.Contains(version) {
			return r, true
		}
	}
	return Range{}, false
}

// ExpectOn is the verdict v must give on a build of version, and why. With
// Affected declared it is a breach inside the ranges and a hold outside
// them; the reason names the range (outside: the nearest one) and its
// note, so a plan shows why a cell expects what it expects.
func (v Variant) ExpectOn(version string) (verdict curve.Verdict, why string) {
	if len(v.Affected) == 0 {
		return v.Expect, v.Why
	}
	if r, ok := v.Affected.Find(version); ok {
		if v.Expect == curve.Breach {
			return curve.Breach, fmt.Sprintf("%s (%s is in %s%s)", v.Why, version, r, noteOf(r))
		}
		return curve.Breach, fmt.Sprintf("%s is in %s%s: the incident lives there", version, r, noteOf(r))
	}
	near := v.Affected.nearest(version)
	if v.Expect == curve.Hold {
		return curve.Hold, fmt.Sprintf("%s (%s is outside %s%s)", v.Why, version, near, noteOf(near))
	}
	return curve.Hold, fmt.Sprintf("%s is outside %s%s: the incident does not live there", version, near, noteOf(near))
}

// nearest is the range closest below version (the fix it comes after), or
// else the first range above it.
func (rs Ranges) nearest(version string) Range {
	var best Range
	found := false
	for _, r := range rs {
		if r.Before != "" && runtime.CompareVersions(r.Before, version) <= 0 &&
			(!found || runtime.CompareVersions(r.Before, best.Before) > 0) {
			best, found = r, true
		}
	}
	if found {
		return best
	}
	for _, r := range rs {
		if !found || compareLow(r.From, best.From) < 0 {
			best, found = r, true
		}
	}
	return best
}

func noteOf(r Range) string {
	if r.Note == "" {
		return ""
	}
	return "; " + r.Note
}
