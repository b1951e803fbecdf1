package calibrate

import (
	"fmt"
	"slices"
	"strings"
)

// Sources of live cells: the recorded runs replayed through the watcher's
// looks (early stop as a variant that stops early would), and the same
// runs judged once at their end (no looks, no early stop).
const (
	LiveLooks = "leaker"
	LiveAtEnd = "leaker-at-end"
)

// Live is the live calibration: runs of a daemon with a known leak
// (images/leaker) recorded by the engine, each re-judged under every rule
// set. Its cells are per rule set, source and true leak, as the replays'
// are.
type Live struct {
	Method string `json:"method"`
	// Runs are the results directories tallied.
	Runs []string `json:"runs"`
	// Cells count the verdicts of every recorded run that reached one.
	Cells []Cell `json:"cells"`
	// Budgets count, per rule set, budget (Source is its metric) and true
	// leak, each budget's own verdict where the watcher's looks stopped.
	Budgets []Cell `json:"budgets,omitempty"`
	// FalseBreaches name the runs at or below 1x a rule set breached
	// (through the watcher's looks), for rule sets with only a few.
	FalseBreaches []string `json:"false_breaches,omitempty"`
	// Errors are the runs that could not run to a verdict, each with why.
	Errors []string `json:"errors,omitempty"`
	// Agree counts runs whose recorded verdict (the engine's, at the end,
	// under the rules it ran with) is the one a replay at the end gives:
	// the replay judges what the engine judged.
	Agree, Recorded int
	// RunS are the seconds from one run's start to the next one's in the
	// same results directory (sandbox, image load, drive, judgement,
	// cleanup), sorted; SampledS the seconds each run sampled, sorted.
	RunS     []float64 `json:"run_s"`
	SampledS []float64 `json:"sampled_s"`
	// WallS is the calibration's wall time when one command made it all,
	// else the time at least one results directory's runs were going.
	WallS float64 `json:"wall_s"`
}

// LiveMethod is the live calibration's method in one paragraph.
const LiveMethod = "Each live run starts a private dockerd, runs the leaker (images/leaker) in a container and drives 480 ops " +
	"at 20 a second (one HTTP request each on its unix socket), sampling its goroutines (pprof), fds and RSS (procfs) at 10 Hz " +
	"with the engine's sampler, watcher, judge and record. The leaker keeps a known multiple of every budget per op " +
	"(0.05 goroutines, 0.05 fds, 16 KiB at 1x; warm-up 40 ops) with every noise on: a GC sawtooth (RSS ramps at 2 MiB/s for 2-6 s, " +
	"then drops by 4-12 MiB), an in-flight plateau of 10-15 calls holding a goroutine and an fd each (at most 16), a one-off " +
	"step at op 60, 1 s after the warm-up (4 goroutines, 4 fds, 2 MiB), and up to 20 ms of jitter per reply. The runs drive to their end; each recorded run is then replayed " +
	"through the watcher's looks under every rule set (source leaker: every 0.5 s from the stimulus, stopping where the " +
	"watcher would) and judged once at its end (source leaker-at-end). At 1x and below a breach is false; above 1x it is power."

// Markdown renders the live section: verdicts per rule set, source and
// true leak with their intervals, times to verdict, and what the runs cost.
func (l Live) Markdown() string {
	var b strings.Builder
	b.WriteString("## Live runs\n\n")
	fmt.Fprintf(&b, "%s\n\n", l.Method)
	n := 0
	for _, c := range l.Cells {
		if c.Source == LiveLooks {
			n += c.N
		}
	}
	_, _, rules := axes(l.Cells)
	if len(rules) > 0 {
		n /= len(rules)
	}
	fmt.Fprintf(&b, "%d runs with a verdict, %d that could not run to one; a run took %s s from one start to the next (median / 90th percentile), sampled %s s; wall time %.0f s. ",
		n, len(l.Errors), medP90(l.RunS), medP90(l.SampledS), l.WallS)
	fmt.Fprintf(&b, "The engine's own verdicts agree with the replay at the end in %d of %d runs.\n\n", l.Agree, l.Recorded)
	b.WriteString("| rules | judged | true leak | runs | breach [95% CI] | hold | inconclusive | stopped early | breach after (s) | hold after (s) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	cells := slices.Clone(l.Cells)
	slices.SortStableFunc(cells, func(a, c Cell) int {
		if a.Rules != c.Rules {
			return strings.Compare(string(a.Rules), string(c.Rules))
		}
		if a.Source != c.Source {
			return strings.Compare(a.Source, c.Source)
		}
		switch {
		case a.Multiple < c.Multiple:
			return -1
		case a.Multiple > c.Multiple:
			return 1
		}
		return 0
	})
	for _, c := range cells {
		br := c.BreachRate()
		judged := "watcher's looks"
		if c.Source == LiveAtEnd {
			judged = "once, at the end"
		}
		fmt.Fprintf(&b, "| %s | %s | %gx | %d | %s [%s, %s] | %d | %d | %d | %s | %s |\n", c.Rules, judged, c.Multiple, c.N,
			pct(br.P), pct(br.Lo), pct(br.Hi), c.Hold, c.Inconclusive(), c.Early, times(c.BreachAfter), times(c.HoldAfter))
	}
	b.WriteString("\nFalse breaches at or below 1x, all such runs pooled (watcher's looks):\n\n")
	for _, ru := range rules {
		k, total := 0, 0
		for _, c := range l.Cells {
			if c.Rules == ru && c.Source == LiveLooks && c.Multiple <= 1 {
				k, total = k+c.Breach, total+c.N
			}
		}
		r := NewRate(k, total)
		fmt.Fprintf(&b, "- %s: %d of %d, %s [%s, %s]\n", ru, k, total, pct(r.P), pct(r.Lo), pct(r.Hi))
	}
	if len(l.FalseBreaches) > 0 {
		b.WriteString("\nThe false breaches, of rule sets with only a few:\n\n")
		for _, f := range l.FalseBreaches {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	if len(l.Budgets) > 0 {
		b.WriteString(l.budgetTable())
	}
	if len(l.Errors) > 0 {
		b.WriteString("\nRuns without a verdict:\n\n")
		for _, e := range l.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	b.WriteString("\nRuns: " + strings.Join(l.Runs, ", ") + "\n")
	return b.String()
}

// medP90 is "median / p90" of sorted seconds, or "-".
func medP90(sorted []float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f", quantile(sorted, 0.5), quantile(sorted, 0.9))
}

// budgetTable is each budget's verdicts where the looks stopped, per rule
// set and true leak, as breaches / holds / inconclusive.
func (l Live) budgetTable() string {
	var b strings.Builder
	multiples, metrics, rules := axes(l.Budgets)
	slices.Sort(multiples)
	b.WriteString("\nEach budget's own verdict where the watcher's looks stopped (breach / hold / inconclusive):\n\n| rules | budget |")
	for _, m := range multiples {
		fmt.Fprintf(&b, " %gx |", m)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(multiples)) + "\n")
	for _, ru := range rules {
		for _, metric := range metrics {
			fmt.Fprintf(&b, "| %s | %s |", ru, metric)
			for _, m := range multiples {
				c, ok := find(l.Budgets, ru, metric, m)
				if !ok {
					b.WriteString(" |")
					continue
				}
				fmt.Fprintf(&b, " %d / %d / %d |", c.Breach, c.Hold, c.Inconclusive())
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
