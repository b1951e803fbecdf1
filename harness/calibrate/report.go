package calibrate

import (
	"fmt"
	"math"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Report is a calibration's outcome as written to calibration.json.
type Report struct {
	// Method says how the numbers were made, in words.
	Method string `json:"method"`
	// Sources names every source: each synthetic noise and what it stands
	// for, and each real series replayed.
	Sources map[string]string `json:"sources"`
	Real    []string          `json:"real,omitempty"`
	Cells   []Cell            `json:"cells"`
	// Live is the live calibration on the leaker, when one was run.
	Live *Live `json:"live,omitempty"`
}

// Method is the calibration's method in one paragraph, for the report.
const Method = "Each replay feeds one run's samples to the engine's own look (judge.LookAt) every 0.5 s from the stimulus, " +
	"stops where the watcher would stop and judges the rest as the engine does (judge.Final). " +
	"The true slope is a multiple of the budget: at 1x the truth sits on the budget, the worst case for a false breach; " +
	"below it the right verdict is hold, above it breach. Synthetic runs: 30 s at 10 Hz after a 1 s baseline, noise of " +
	"standard deviation 1, a per-second budget of 2/30 (a leak of two noise deviations over the run) with a 1 s warm-up. " +
	"Real runs: every slope budget of every variant of a saved run that was expected to hold and did, with its own " +
	"budget, warm-up and phases; its fitted trend is replaced by the injected truth, once as measured and once negated, and the values are rounded to the series' own resolution (a count, a page), as a real leak would show. " +
	"Rates carry 95% Wilson intervals; times are seconds from the stimulus to the verdict."

// find returns the cell of rules, source and multiple.
func find(cells []Cell, rules curve.Rules, source string, m float64) (Cell, bool) {
	for _, c := range cells {
		if c.Rules == rules && c.Source == source && c.Multiple == m {
			return c, true
		}
	}
	return Cell{}, false
}

// Markdown renders the report's tables: per rule set and source, the
// verdicts at each leak size and the time to verdict.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Verdict calibration\n\n")
	if len(r.Cells) > 0 {
		b.WriteString(r.replayMarkdown())
	}
	if r.Live != nil {
		if len(r.Cells) > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r.Live.Markdown())
	}
	return b.String()
}

// replayMarkdown is the replays' part of the report.
func (r Report) replayMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Method)
	multiples, sources, rules := axes(r.Cells)
	b.WriteString("## Breach rate by true slope (x budget)\n\n")
	b.WriteString("At 1x and below a breach is false; above 1x it is the power. In brackets: the 95% interval; after the slash: holds / inconclusive.\n\n")
	b.WriteString("| rules | source |")
	for _, m := range multiples {
		fmt.Fprintf(&b, " %gx |", m)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(multiples)) + "\n")
	for _, ru := range rules {
		for _, src := range sources {
			fmt.Fprintf(&b, "| %s | %s |", ru, src)
			for _, m := range multiples {
				c, ok := find(r.Cells, ru, src, m)
				if !ok {
					b.WriteString(" |")
					continue
				}
				br := c.BreachRate()
				fmt.Fprintf(&b, " %s [%s, %s] / %d h %d i |", pct(br.P), pct(br.Lo), pct(br.Hi), c.Hold, c.Inconclusive())
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n## Time to verdict (seconds from the stimulus: median / 90th percentile)\n\n")
	b.WriteString("| rules | source | breach at 2x | breach at 4x | hold at 0x | stopped early at 0x / 2x |\n|---|---|---|---|---|---|\n")
	for _, ru := range rules {
		for _, src := range sources {
			c2, _ := find(r.Cells, ru, src, 2)
			c4, _ := find(r.Cells, ru, src, 4)
			c0, _ := find(r.Cells, ru, src, 0)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s / %s |\n", ru, src, times(c2.BreachAfter), times(c4.BreachAfter), times(c0.HoldAfter),
				share(c0.Early, c0.N), share(c2.Early, c2.N))
		}
	}
	b.WriteString("\n## Sources\n\n")
	for _, src := range sources {
		fmt.Fprintf(&b, "- **%s**: %s\n", src, r.Sources[src])
	}
	if len(r.Real) > 0 {
		fmt.Fprintf(&b, "\nReal series (%d):\n\n", len(r.Real))
		for _, n := range r.Real {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// axes lists the multiples, sources and rules of cells in first-seen order.
func axes(cells []Cell) (multiples []float64, sources []string, rules []curve.Rules) {
	seenM, seenS, seenR := map[float64]bool{}, map[string]bool{}, map[curve.Rules]bool{}
	for _, c := range cells {
		if !seenM[c.Multiple] {
			seenM[c.Multiple] = true
			multiples = append(multiples, c.Multiple)
		}
		if !seenS[c.Source] {
			seenS[c.Source] = true
			sources = append(sources, c.Source)
		}
		if !seenR[c.Rules] {
			seenR[c.Rules] = true
			rules = append(rules, c.Rules)
		}
	}
	return multiples, sources, rules
}

func pct(p float64) string {
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return fmt.Sprintf("%.2f%%", 100*p)
	default:
		return fmt.Sprintf("%.1f%%", 100*p)
	}
}

func share(k, n int) string {
	if n == 0 {
		return "-"
	}
	return pct(float64(k) / float64(n))
}

// times is "median / p90" of sorted seconds, or "-".
func times(sorted []float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f (n=%d)", quantile(sorted, 0.5), quantile(sorted, 0.9), len(sorted))
}

// quantile of sorted values, by the nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
