package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Table renders a run's verdicts as plain text for the terminal (what `make
// reproduce` prints), ending with a line "N passed, M failed" alone on its
// line so scripts and people find the outcome in the same place.
func Table(run results.Run) string {
	var b strings.Builder
	// The kernel and cgroup version head the table: the same run gives
	// other verdicts on another kernel (kmem accounting, reclaim).
	fmt.Fprintf(&b, "relapse run %s", run.ID)
	if h := run.Host; h.Kernel != "" {
		fmt.Fprintf(&b, " on kernel %s, cgroup %s", h.Kernel, h.CgroupVersion)
	}
	b.WriteString("\n")
	if len(run.Results) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INCIDENT\tVARIANT\tRUNTIME\tEXPECT\tVERDICT\tOK\tPRIMARY BUDGET\tMEASURED\tBUDGET\tGROWTH\tAFTER")
		for _, r := range run.Results {
			ok := "ok"
			if !r.OK {
				ok = "FAILED"
			}
			primary, measured, budget, growth := "-", "-", "-", "-"
			if r.Metric != "" {
				kind := string(r.BudgetKind)
				if kind == "" {
					kind = string(curve.Slope)
				}
				op := "<= "
				if r.Slope > r.Budget {
					op = "> "
				}
				primary = r.Metric + " " + kind
				measured = results.Quantity(r.Slope, r.SlopeUnit)
				budget = op + results.Quantity(r.Budget, r.SlopeUnit)
				growth = results.Quantity(r.Growth, r.Units[r.Metric])
			}
			after := "-"
			if r.VerdictAfterS > 0 {
				after = seconds(r.VerdictAfterS)
				if r.StoppedEarly {
					after += " (early)"
				}
			}
			rt := strings.TrimSpace(r.Runtime + " " + r.Version)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				oneLine(r.Incident), oneLine(results.VariantDirName(r.Variant, r.Cell)), oneLine(rt), r.Expect, r.Verdict, ok, primary, measured, budget, growth, after)
		}
		_ = tw.Flush() // writes to a strings.Builder, which does not fail
		for _, r := range run.Results {
			if r.Error != "" {
				fmt.Fprintf(&b, "%s: error: %s\n", oneLine(r.Name()), oneLine(r.Error))
			}
		}
	}
	passed, failed := run.Counts()
	fmt.Fprintf(&b, "\n%s\n", countsLine(passed, failed))
	return b.String()
}

// countsLine is the overall outcome, worded exactly "2 passed, 0 failed".
func countsLine(passed, failed int) string {
	return fmt.Sprintf("%d passed, %d failed", passed, failed)
}
