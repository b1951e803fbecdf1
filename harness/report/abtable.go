package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// ComparisonTable renders a comparison as plain text for the terminal: one
// row per budget of each paired variant, then the reasons of every
// regression, the variants only one run has, and a last line "N regressed,
// M compared" alone on its line.
func ComparisonTable(c judge.Comparison) string {
	var b strings.Builder
	fmt.Fprintf(&b, "relapse A/B: base %s (%s) vs candidate %s (%s)\n", c.Base.ID, strings.Join(c.Base.Runtimes, ", "), c.Candidate.ID, strings.Join(c.Candidate.Runtimes, ", "))
	if len(c.Pairs) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INCIDENT\tVARIANT\tRUNTIME\tBUDGET\tBASE\tCANDIDATE\tCHANGE\tREGRESSED")
		for _, p := range c.Pairs {
			rt := strings.TrimSpace(p.Base.Runtime + " " + p.Base.Version)
			if crt := strings.TrimSpace(p.Candidate.Runtime + " " + p.Candidate.Version); crt != rt {
				rt += " -> " + crt
			}
			reg := "-"
			if p.Regressed {
				reg = "REGRESSED"
			}
			if len(p.Evals) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t%s\t%s\t%s\n", oneLine(p.Incident), oneLine(p.Variant), oneLine(rt), p.Base.Verdict, p.Candidate.Verdict, p.Change, reg)
				continue
			}
			for i, e := range p.Evals {
				inc, vr, rtc, r := oneLine(p.Incident), oneLine(p.Variant), oneLine(rt), reg
				if i > 0 {
					inc, vr, rtc = "", "", ""
					if r != "-" {
						r = ""
					}
				}
				if e.Regressed {
					r = "REGRESSED"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc, vr, rtc, budgetCell(e), measureCell(e.Base, e.Unit), measureCell(e.Candidate, e.Unit), e.Change, r)
			}
		}
		_ = tw.Flush() // writes to a strings.Builder, which does not fail
	}
	for _, p := range c.Pairs {
		for _, r := range p.Reasons {
			fmt.Fprintf(&b, "regressed: %s/%s: %s\n", oneLine(p.Incident), oneLine(p.Variant), oneLine(r))
		}
	}
	for _, s := range c.OnlyBase {
		what := "only in base"
		if s.OK {
			what = "regressed: missing from the candidate (ok in base)"
		}
		fmt.Fprintf(&b, "%s: %s/%s (%s %s, %s)\n", what, oneLine(s.Incident), oneLine(s.Variant), s.Runtime, s.Version, s.Verdict)
	}
	for _, s := range c.OnlyCandidate {
		fmt.Fprintf(&b, "only in candidate: %s/%s (%s %s, %s)\n", oneLine(s.Incident), oneLine(s.Variant), s.Runtime, s.Version, s.Verdict)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", oneLine(w))
	}
	fmt.Fprintf(&b, "\n%s\n", c.Counts())
	return b.String()
}

// budgetCell reads "containerd_rss_bytes slope <= 1 MiB/s".
func budgetCell(e judge.EvalDelta) string {
	op := "<= "
	if e.Kind == curve.Growth || e.Kind == curve.Residual {
		op = "<= +"
	}
	return fmt.Sprintf("%s %s %s%s", e.Metric, e.Kind, op, results.Quantity(e.Budget, e.Unit))
}

// measureCell reads "52.1 MiB/s [51.8 MiB/s, 52.4 MiB/s] breach" or "-".
func measureCell(m *judge.Measure, unit string) string {
	if m == nil {
		return "-"
	}
	if v := measureValue(*m, unit); v != "" {
		return v + " " + string(m.Verdict)
	}
	return string(m.Verdict)
}

// measureValue is Measure.Text, or "" for a budget that was not judged (an
// inconclusive verdict with nothing measured).
func measureValue(m judge.Measure, unit string) string {
	if m.Verdict == curve.Inconclusive && m.Measured == 0 {
		return ""
	}
	return m.Text(unit)
}
