package report

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
)

// HTML renders a run as one static page, in the order a reader wants it:
// one overview picture per incident (overviews, from Overviews), the
// verdict table, then each variant's budgets and charts folded away. Every
// value goes through html/template, so an odd incident name cannot inject
// markup, and every measured number through results.Quantity or
// results.Number.
// Links are relative to the run directory, so the page works wherever it
// is copied.
func HTML(run results.Run, overviews []Overview) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, newPage(run, overviews)); err != nil {
		return nil, fmt.Errorf("render %s: %w", IndexFile, err)
	}
	return b.Bytes(), nil
}

type pageView struct {
	ID, Started, Finished, Host, Counts string
	AllOK, Incomplete                   bool
	Incidents                           []incidentView
	Rows                                []rowView
}

// incidentView is an incident's card at the top of the page: its
// overviews and how its variants fared.
type incidentView struct {
	Anchor, Name, Title, Counts string
	OK                          bool
	Charts                      []overviewView
}

type overviewView struct {
	Src, Alt string
	Missing  []string
}

type rowView struct {
	Anchor, Incident, Variant, Title, Runtime, Expect, Verdict string
	OK                                                         bool
	Measured, Op, Budget, Metric, Growth, After, Headline      string
	StoppedEarly                                               bool
	Error, ShortError, Binary, Labels, Guard                   string
	GuardFired                                                 bool
	Config, Extras, Components                                 []kv
	Warnings                                                   []string
	Files                                                      []link
	Evals                                                      []evalView
	Charts                                                     []chartView
}

type kv struct{ K, V string }

type link struct{ Href, Text string }

type evalView struct {
	Budget, Measured, Verdict, Detail string
	Certain                           bool
}

type chartView struct {
	Src, Alt string
	Data     []link
}

var anchorPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

func newPage(run results.Run, overviews []Overview) pageView {
	passed, failed := run.Counts()
	p := pageView{
		ID:         run.ID,
		Started:    stamp(run.Started),
		Counts:     countsLine(passed, failed),
		AllOK:      failed == 0 && passed > 0,
		Incomplete: run.Finished.IsZero(),
	}
	if !run.Finished.IsZero() {
		p.Finished = stamp(run.Finished) + " (" + run.Finished.Sub(run.Started).Round(time.Second).String() + ")"
	}
	h := run.Host
	var hp []string
	if h.Hostname != "" {
		hp = append(hp, h.Hostname)
	}
	hp = append(hp, "kernel "+h.Kernel, "cgroup "+h.CgroupVersion, fmt.Sprintf("%d CPUs", h.CPUs), results.Quantity(float64(h.MemTotal), "bytes")+" RAM")
	p.Host = strings.Join(hp, " · ")
	for i, r := range run.Results {
		p.Rows = append(p.Rows, newRow(i, r))
	}
	p.Incidents = newIncidents(run.Results, overviews)
	return p
}

// newIncidents groups the results by incident, in run order, each with
// its overviews.
func newIncidents(rs []results.Result, overviews []Overview) []incidentView {
	var out []incidentView
	index := map[string]int{}
	passed, failed := map[string]int{}, map[string]int{}
	for _, r := range rs {
		if _, ok := index[r.Incident]; !ok {
			index[r.Incident] = len(out)
			anchor := fmt.Sprintf("incident-%d", len(out)+1)
			if anchorPattern.MatchString(r.Incident) {
				anchor = "incident-" + r.Incident
			}
			out = append(out, incidentView{Anchor: anchor, Name: r.Incident})
		}
		iv := &out[index[r.Incident]]
		if iv.Title == "" {
			iv.Title = r.Title
		}
		if r.OK {
			passed[r.Incident]++
		} else {
			failed[r.Incident]++
		}
	}
	for i := range out {
		iv := &out[i]
		iv.OK = failed[iv.Name] == 0
		iv.Counts = countsLine(passed[iv.Name], failed[iv.Name])
	}
	for _, o := range overviews {
		i, ok := index[o.Incident]
		if !ok {
			continue
		}
		v := overviewView{Missing: o.Missing}
		if o.SVG != nil {
			v.Src = relURL(o.File)
			v.Alt = fmt.Sprintf("%s of every %s variant overlaid, with the budget", o.Metric, o.Incident)
		}
		out[i].Charts = append(out[i].Charts, v)
	}
	return out
}

func newRow(i int, r results.Result) rowView {
	v := rowView{
		Anchor:       fmt.Sprintf("r%d", i),
		Incident:     r.Incident,
		Variant:      results.VariantDirName(r.Variant, r.Cell),
		Title:        r.Title,
		Runtime:      strings.TrimSpace(r.Runtime + " " + r.Version),
		Expect:       r.Expect,
		Verdict:      r.Verdict,
		OK:           r.OK,
		Metric:       r.Metric,
		After:        "—",
		StoppedEarly: r.StoppedEarly,
		Error:        r.Error,
		ShortError:   shorten(oneLine(r.Error), 140),
		Binary:       r.Binary,
		Components:   componentsView(r.Components),
		Labels:       strings.Join(r.Labels, ", "),
		Warnings:     r.Warnings,
	}
	cell := strings.NewReplacer(".", "-", "/", "--").Replace(r.Cell)
	if anchorPattern.MatchString(r.Incident) && anchorPattern.MatchString(r.Variant) && (cell == "" || anchorPattern.MatchString(cell)) {
		v.Anchor = r.Incident + "--" + r.Variant
		if cell != "" {
			v.Anchor += "--" + cell
		}
	}
	if r.Metric != "" {
		v.Headline = headline(r)
		v.Measured, v.Budget = results.Quantity(r.Slope, r.SlopeUnit), results.Quantity(r.Budget, r.SlopeUnit)
		v.Op = "≤"
		if r.Slope > r.Budget {
			v.Op = ">"
		}
		if r.BudgetKind != "" && r.BudgetKind != curve.Slope {
			v.Metric += " " + string(r.BudgetKind)
		}
		v.Growth = results.Quantity(r.Growth, r.Units[r.Metric])
	}
	if r.VerdictAfterS > 0 {
		v.After = seconds(r.VerdictAfterS)
	}
	if g := r.Guard; g != nil {
		v.Guard = fmt.Sprintf("peak RSS %s of limit %s", results.Quantity(float64(g.PeakRSS), "bytes"), results.Quantity(float64(g.Limit), "bytes"))
		v.GuardFired = g.Fired
	}
	for _, k := range sortedKeys(r.Config) {
		v.Config = append(v.Config, kv{k, configValue(r.Config[k])})
	}
	for _, k := range sortedKeys(r.Extras) {
		v.Extras = append(v.Extras, kv{k, results.Number(r.Extras[k])})
	}
	v.Files = append(v.Files, link{relURL(path.Join(r.Name(), results.ResultFile)), results.ResultFile})
	for _, d := range r.Diagnostics {
		v.Files = append(v.Files, link{relURL(d), path.Base(d)})
	}
	for i, j := range r.Judgements() {
		e := r.Evaluations[i]
		v.Evals = append(v.Evals, evalView{Budget: j.Budget, Measured: j.Measured, Verdict: string(j.Verdict),
			Detail: evalDetail(e, r.Units[e.Budget.Metric]), Certain: j.Certain})
	}
	for _, c := range r.Charts {
		metric := strings.TrimSuffix(strings.TrimSuffix(path.Base(c), ".svg"), "-per-op")
		dir := path.Dir(c)
		v.Charts = append(v.Charts, chartView{
			Src: relURL(c),
			Alt: fmt.Sprintf("chart of %s for %s", strings.TrimSuffix(path.Base(c), ".svg"), r.Name()),
			Data: []link{
				{relURL(path.Join(dir, metric+".csv")), metric + ".csv"},
				{relURL(path.Join(dir, metric+".json")), metric + ".json"},
			},
		})
	}
	return v
}

// componentsView lists what the daemon ran with besides itself, by name:
// "runc = runc version 1.3.6 (go install -tags seccomp ...)".
func componentsView(cs map[string]runtime.Component) []kv {
	var out []kv
	for _, name := range slices.Sorted(maps.Keys(cs)) {
		c := cs[name]
		v := cmp.Or(c.Version, c.Path)
		if c.Source != "" {
			v += " (" + c.Source + ")"
		}
		out = append(out, kv{K: name, V: v})
	}
	return out
}
