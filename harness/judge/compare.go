package judge

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// Comparison is an A/B of two runs: the same incident variants measured on a
// base (e.g. last night, containerd 1.7.17) and a candidate (tonight, 1.7.18),
// budget by budget. It answers the question a runtime upgrade asks: did any
// curve get worse? Its JSON form is ab.json; add keys, never rename them.
type Comparison struct {
	Base      RunRef `json:"base"`
	Candidate RunRef `json:"candidate"`
	// Pairs are the variants found in both runs, sorted by incident,
	// variant, base version.
	Pairs []Pair `json:"pairs"`
	// OnlyBase and OnlyCandidate are variants the other run lacks. A variant
	// that was ok on the base and is missing from the candidate counts as a
	// regression: a nightly that silently stops measuring something must
	// not pass.
	OnlyBase      []Side `json:"only_base"`
	OnlyCandidate []Side `json:"only_candidate"`
	// Regressions counts the regressed pairs plus the missing ok variants.
	Regressions int `json:"regressions"`
	// Warnings name what report.WriteComparison could not draw (e.g. a
	// series file missing from a downloaded run).
	Warnings []string `json:"warnings,omitempty"`
}

// RunRef identifies one side of a comparison.
type RunRef struct {
	ID      string       `json:"id"`
	Started time.Time    `json:"started"`
	Host    results.Host `json:"host"`
	// Runtimes lists the distinct "runtime version" pairs the run measured,
	// e.g. ["containerd 1.7.18"].
	Runtimes []string `json:"runtimes"`
}

// Side is one run's result for a variant, reduced to what a comparison shows.
type Side struct {
	Incident string `json:"incident"`
	Variant  string `json:"variant"`
	Runtime  string `json:"runtime"`
	Version  string `json:"version"`
	Expect   string `json:"expect"`
	Verdict  string `json:"verdict"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	// Units maps the variant's metrics to their units.
	Units map[string]string `json:"units,omitempty"`
	// SeriesFiles are the run-relative CSVs of the variant's series.
	SeriesFiles []string `json:"series_files,omitempty"`
	// Evaluations are the run's budgets as judged, for charts that draw
	// them; the pair's Evals carry them into ab.json.
	Evaluations []curve.Evaluation `json:"-"`
}

// Pair is one incident variant measured in both runs.
type Pair struct {
	Incident  string `json:"incident"`
	Variant   string `json:"variant"`
	Title     string `json:"title,omitempty"`
	Base      Side   `json:"base"`
	Candidate Side   `json:"candidate"`
	// Change says in one line what happened to the variant's verdict, e.g.
	// "held on 1.7.17, breaches on 1.7.18".
	Change string `json:"change"`
	// Evals compares the variant's budgets one by one, in the candidate's
	// budget order (budgets only the base had come last).
	Evals []EvalDelta `json:"evals"`
	// Regressed is true when the candidate is worse: the variant was ok on
	// the base and is not on the candidate, or (for a variant that must
	// hold) a budget that held now breaches or a slope grew.
	Regressed bool `json:"regressed"`
	// Reasons say why Regressed is set, one line each.
	Reasons []string `json:"reasons,omitempty"`
}

// EvalDelta is one budget judged in both runs.
type EvalDelta struct {
	Metric string     `json:"metric"`
	Kind   curve.Kind `json:"kind"`
	Per    curve.Axis `json:"per,omitempty"`
	// Unit is the unit of Measured, Lo, Hi and Budget (e.g. "bytes/s").
	Unit string `json:"unit"`
	// Budget is the candidate's bound (the base's when only the base has it).
	Budget float64 `json:"budget"`
	// Base and Candidate are nil when that run did not judge this budget.
	Base      *Measure `json:"base"`
	Candidate *Measure `json:"candidate"`
	// Change reads like "held on 1.7.17, breaches on 1.7.18".
	Change string `json:"change"`
	// Grew is true for a slope whose candidate lower confidence bound lies
	// above the base's upper bound and above half the budget: growth that is
	// both statistically clear and big enough to matter, even if it still
	// holds.
	Grew bool `json:"grew"`
	// Regressed is true when this budget makes its pair regress.
	Regressed bool `json:"regressed"`
}

// Measure is one run's judgement of a budget.
type Measure struct {
	Verdict  curve.Verdict `json:"verdict"`
	Measured float64       `json:"measured"`
	// Lo and Hi are the slope's confidence bounds (slope budgets with a fit).
	Lo         float64 `json:"lo,omitempty"`
	Hi         float64 `json:"hi,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	HasFit     bool    `json:"has_fit"`
	Budget     float64 `json:"budget"`
}

// Compare pairs the results of two runs by incident and variant and judges
// each pair budget by budget. Versions do not have to match: comparing
// containerd 1.7.17 with 1.7.18 is the point. When one run holds several
// results for the same incident and variant (a matrix run), results of equal
// version pair first and the rest pair in version order; what is left over
// is reported as only in one run.
func Compare(base, cand results.Run) Comparison {
	c := Comparison{
		Base:          newRunRef(base),
		Candidate:     newRunRef(cand),
		Pairs:         []Pair{},
		OnlyBase:      []Side{},
		OnlyCandidate: []Side{},
	}
	type key struct{ incident, variant string }
	group := func(rs []results.Result) (map[key][]results.Result, []key) {
		m := map[key][]results.Result{}
		var order []key
		for _, r := range rs {
			k := key{r.Incident, r.Variant}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], r)
		}
		return m, order
	}
	bm, border := group(base.Results)
	cm, corder := group(cand.Results)
	keys := border
	for _, k := range corder {
		if _, ok := bm[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		bs, cs := bm[k], cm[k]
		pairs, restB, restC := matchVersions(bs, cs)
		for _, ij := range pairs {
			c.Pairs = append(c.Pairs, comparePair(bs[ij[0]], cs[ij[1]]))
		}
		for _, i := range restB {
			c.OnlyBase = append(c.OnlyBase, newSide(bs[i]))
		}
		for _, j := range restC {
			c.OnlyCandidate = append(c.OnlyCandidate, newSide(cs[j]))
		}
	}
	slices.SortStableFunc(c.Pairs, func(a, b Pair) int {
		return cmp.Or(strings.Compare(a.Incident, b.Incident), strings.Compare(a.Variant, b.Variant), compareVersions(a.Base.Version, b.Base.Version))
	})
	for _, p := range c.Pairs {
		if p.Regressed {
			c.Regressions++
		}
	}
	for _, s := range c.OnlyBase {
		if s.OK {
			c.Regressions++
		}
	}
	return c
}

// matchVersions pairs the results of one incident variant: equal runtime
// and version first, then the rest in version order. It returns index pairs
// (base, candidate) and the indices left unpaired on each side.
func matchVersions(base, cand []results.Result) (pairs [][2]int, restB, restC []int) {
	usedB, usedC := make([]bool, len(base)), make([]bool, len(cand))
	for i, b := range base {
		for j, c := range cand {
			if !usedC[j] && b.Runtime == c.Runtime && b.Version == c.Version {
				usedB[i], usedC[j] = true, true
				pairs = append(pairs, [2]int{i, j})
				break
			}
		}
	}
	rest := func(rs []results.Result, used []bool) []int {
		var idx []int
		for i := range rs {
			if !used[i] {
				idx = append(idx, i)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return compareVersions(rs[a].Version, rs[b].Version) })
		return idx
	}
	restB, restC = rest(base, usedB), rest(cand, usedC)
	n := min(len(restB), len(restC))
	for k := range n {
		pairs = append(pairs, [2]int{restB[k], restC[k]})
	}
	return pairs, restB[n:], restC[n:]
}

// compareVersions orders versions as releases are numbered.
var compareVersions = runtime.CompareVersions

func newRunRef(r results.Run) RunRef {
	ref := RunRef{ID: r.ID, Started: r.Started, Host: r.Host, Runtimes: []string{}}
	for _, res := range r.Results {
		rt := strings.TrimSpace(res.Runtime + " " + res.Version)
		if rt != "" && !slices.Contains(ref.Runtimes, rt) {
			ref.Runtimes = append(ref.Runtimes, rt)
		}
	}
	slices.Sort(ref.Runtimes)
	return ref
}

func newSide(r results.Result) Side {
	return Side{
		Incident: r.Incident, Variant: r.Variant, Runtime: r.Runtime, Version: r.Version,
		Expect: r.Expect, Verdict: r.Verdict, OK: r.OK, Error: r.Error,
		Units: r.Units, SeriesFiles: r.SeriesFiles, Evaluations: r.Evaluations,
	}
}

// sideNames returns how change lines name the base and the candidate: by
// version when the versions differ ("1.7.17"), with the runtime when that
// differs too ("dockerd 20.10.5"), else "base" and "candidate".
func sideNames(b, c Side) (string, string) {
	switch {
	case b.Runtime != c.Runtime && b.Runtime != "" && c.Runtime != "":
		return strings.TrimSpace(b.Runtime + " " + b.Version), strings.TrimSpace(c.Runtime + " " + c.Version)
	case b.Version != c.Version && b.Version != "" && c.Version != "":
		return b.Version, c.Version
	}
	return "base", "candidate"
}

// verb words a verdict for a change line: past for the base, present for
// the candidate.
func verb(v string, past bool) string {
	switch curve.Verdict(v) {
	case curve.Hold:
		return map[bool]string{true: "held", false: "holds"}[past]
	case curve.Breach:
		return map[bool]string{true: "breached", false: "breaches"}[past]
	case curve.Inconclusive:
		return map[bool]string{true: "was inconclusive", false: "is inconclusive"}[past]
	case "":
		return map[bool]string{true: "had no verdict", false: "has no verdict"}[past]
	}
	return map[bool]string{true: "was ", false: "is "}[past] + v
}

// changeLine reads "held on 1.7.17, breaches on 1.7.18", or "breaches on
// both (1.7.17, 1.7.18)" when the verdict did not change.
func changeLine(bv, cv, bn, cn string) string {
	if bv == cv {
		if bn == "base" {
			return verb(cv, false) + " on both"
		}
		return fmt.Sprintf("%s on both (%s, %s)", verb(cv, false), bn, cn)
	}
	return fmt.Sprintf("%s on %s, %s on %s", verb(bv, true), bn, verb(cv, false), cn)
}

// comparePair judges one variant measured in both runs.
func comparePair(b, c results.Result) Pair {
	p := Pair{
		Incident: c.Incident, Variant: c.Variant, Title: cmp.Or(c.Title, b.Title),
		Base: newSide(b), Candidate: newSide(c),
	}
	bn, cn := sideNames(p.Base, p.Candidate)
	p.Change = changeLine(b.Verdict, c.Verdict, bn, cn)
	if b.Error == "" && c.Error != "" {
		p.Change += " (candidate error: " + errorLine(c.Error, 120) + ")"
	}
	if b.OK && !c.OK {
		p.Regressed = true
		why := fmt.Sprintf("ok on %s (expected %s, got %s), failed on %s (expected %s, got %s)", bn, b.Expect, b.Verdict, cn, c.Expect, c.Verdict)
		if c.Error != "" {
			why += ": " + errorLine(c.Error, 200)
		}
		p.Reasons = append(p.Reasons, why)
	}
	// Budgets are a contract only for variants that must hold on either
	// side: a vulnerable variant is expected to breach, and its slope moving
	// by noise between two breaches is no regression (its failing to
	// reproduce is, through OK). A variant that held on the base must still
	// hold on the candidate, even where a matrix expects the candidate's
	// older version to breach (20.10.24 -> 20.10.5 brings the leak back).
	mustHold := c.Expect == string(curve.Hold) || b.Expect == string(curve.Hold)
	p.Evals = compareEvals(b, c, bn, cn)
	for i := range p.Evals {
		e := &p.Evals[i]
		if !mustHold || e.Base == nil || e.Candidate == nil {
			continue
		}
		switch {
		case e.Base.Verdict == curve.Hold && e.Candidate.Verdict == curve.Breach:
			e.Regressed = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("%s: %s", evalName(*e), e.Change))
		case e.Grew:
			e.Regressed = true
			p.Reasons = append(p.Reasons, fmt.Sprintf("%s grew: %s on %s is above %s on %s and above half the budget %s",
				evalName(*e), e.Candidate.Text(e.Unit), cn, e.Base.Text(e.Unit), bn, results.Quantity(e.Budget, e.Unit)))
		}
		if e.Regressed {
			p.Regressed = true
		}
	}
	return p
}

// evalName reads "containerd_rss_bytes slope".
func evalName(e EvalDelta) string { return e.Metric + " " + string(e.Kind) }

// compareEvals pairs two results' evaluations by metric, kind and axis (the
// n-th such budget of one with the n-th of the other).
func compareEvals(b, c results.Result, bn, cn string) []EvalDelta {
	type key struct {
		metric string
		kind   curve.Kind
		per    curve.Axis
		n      int
	}
	keyed := func(evals []curve.Evaluation) ([]key, map[key]curve.Evaluation) {
		seen := map[key]int{}
		keys := make([]key, 0, len(evals))
		m := make(map[key]curve.Evaluation, len(evals))
		for _, e := range evals {
			k := key{e.Budget.Metric, e.Budget.Kind, e.Budget.Per, 0}
			k.n = seen[k]
			seen[key{k.metric, k.kind, k.per, 0}]++
			keys = append(keys, k)
			m[k] = e
		}
		return keys, m
	}
	bk, bm := keyed(b.Evaluations)
	ck, cm := keyed(c.Evaluations)
	order := ck
	for _, k := range bk {
		if _, ok := cm[k]; !ok {
			order = append(order, k)
		}
	}
	out := make([]EvalDelta, 0, len(order))
	for _, k := range order {
		be, inB := bm[k]
		ce, inC := cm[k]
		ref := ce
		if !inC {
			ref = be
		}
		unit := c.Units[k.metric]
		if unit == "" {
			unit = b.Units[k.metric]
		}
		d := EvalDelta{Metric: k.metric, Kind: k.kind, Per: k.per, Unit: ref.Budget.Unit(unit), Budget: ref.Budget.Max}
		if inB {
			d.Base = newMeasure(be)
		}
		if inC {
			d.Candidate = newMeasure(ce)
		}
		switch {
		case !inB:
			d.Change = fmt.Sprintf("new budget: %s on %s", verb(string(ce.Verdict), false), cn)
		case !inC:
			d.Change = fmt.Sprintf("budget gone: %s on %s, not judged on %s", verb(string(be.Verdict), true), bn, cn)
		default:
			d.Change = changeLine(string(be.Verdict), string(ce.Verdict), bn, cn)
			d.Grew = grew(*d.Base, *d.Candidate, d.Budget)
			if d.Grew {
				d.Change += ", slope grew"
			}
			if be.Budget.Max != ce.Budget.Max {
				d.Change += fmt.Sprintf(" (budget changed from %s)", results.Quantity(be.Budget.Max, d.Unit))
			}
		}
		out = append(out, d)
	}
	return out
}

func newMeasure(e curve.Evaluation) *Measure {
	m := &Measure{Verdict: e.Verdict, Measured: e.Measured, Budget: e.Budget.Max}
	if f := e.Fit; f != nil && f.N > 0 && finite(f.Lo) && finite(f.Hi) {
		m.HasFit, m.Lo, m.Hi, m.Confidence = true, f.Lo, f.Hi, f.Confidence
	}
	return m
}

// grew reports a slope clearly and materially higher on the candidate: its
// lower confidence bound above the base's upper bound (the intervals do not
// overlap) and above half the budget (growth too small to matter against the
// budget is noise for a regression check, however certain).
func grew(b, c Measure, budget float64) bool {
	return b.HasFit && c.HasFit && c.Lo > b.Hi && c.Lo > budget/2
}

// Text reads "52.1 MiB/s [51.8 MiB/s, 52.4 MiB/s]": the value and, for a
// fitted slope, its confidence bounds unless they print the same.
func (m Measure) Text(unit string) string {
	s := results.Quantity(m.Measured, unit)
	if lo, hi := results.Quantity(m.Lo, unit), results.Quantity(m.Hi, unit); m.HasFit && (lo != s || hi != s) {
		s += fmt.Sprintf(" [%s, %s]", lo, hi)
	}
	return s
}

// Counts is the overall outcome, worded exactly "1 regressed, 3 compared".
func (c Comparison) Counts() string {
	return fmt.Sprintf("%d regressed, %d compared", c.Regressions, len(c.Pairs))
}

// errorLine puts an error on one line of at most n runes, for a change
// line or a reason.
func errorLine(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
