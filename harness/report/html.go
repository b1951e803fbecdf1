package report

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

// HTML renders a run as one static page: the run and host, a verdict table,
// then each variant's budgets and charts. Every value goes through
// html/template, so an odd incident name cannot inject markup. Links are
// relative to the run directory, so the page works wherever it is copied.
func HTML(run Run) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, newPage(run)); err != nil {
		return nil, fmt.Errorf("render %s: %w", IndexFile, err)
	}
	return b.Bytes(), nil
}

type pageView struct {
	ID, Started, Finished, Host, Counts string
	AllOK, Incomplete                   bool
	Rows                                []rowView
}

type rowView struct {
	Anchor, Incident, Variant, Title, Runtime, Expect, Verdict string
	OK                                                         bool
	Measured, Op, Budget, Metric, Growth, After                string
	StoppedEarly                                               bool
	Error, ShortError, Binary, Labels, Guard                   string
	GuardFired                                                 bool
	Config, Extras                                             []kv
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

func newPage(run Run) pageView {
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
	hp = append(hp, "kernel "+h.Kernel, "cgroup "+h.CgroupVersion, fmt.Sprintf("%d CPUs", h.CPUs), Quantity(float64(h.MemTotal), "bytes")+" RAM")
	p.Host = strings.Join(hp, " · ")
	for i, r := range run.Results {
		p.Rows = append(p.Rows, newRow(i, r))
	}
	return p
}

func newRow(i int, r Result) rowView {
	v := rowView{
		Anchor:       fmt.Sprintf("r%d", i),
		Incident:     r.Incident,
		Variant:      VariantDirName(r.Variant, r.Cell),
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
		Labels:       strings.Join(r.Labels, ", "),
		Warnings:     r.Warnings,
	}
	cell := strings.ReplaceAll(r.Cell, ".", "-")
	if anchorPattern.MatchString(r.Incident) && anchorPattern.MatchString(r.Variant) && (cell == "" || anchorPattern.MatchString(cell)) {
		v.Anchor = r.Incident + "--" + r.Variant
		if cell != "" {
			v.Anchor += "--" + cell
		}
	}
	if r.Metric != "" {
		v.Measured, v.Budget = Quantity(r.Slope, r.SlopeUnit), Quantity(r.Budget, r.SlopeUnit)
		v.Op = "≤"
		if r.Slope > r.Budget {
			v.Op = ">"
		}
		if r.BudgetKind != "" && r.BudgetKind != curve.Slope {
			v.Metric += " " + string(r.BudgetKind)
		}
		v.Growth = Quantity(r.Growth, r.Units[r.Metric])
	}
	if r.VerdictAfterS > 0 {
		v.After = seconds(r.VerdictAfterS)
	}
	if g := r.Guard; g != nil {
		v.Guard = fmt.Sprintf("peak RSS %s of limit %s", Quantity(float64(g.PeakRSS), "bytes"), Quantity(float64(g.Limit), "bytes"))
		v.GuardFired = g.Fired
	}
	for _, k := range sortedKeys(r.Config) {
		v.Config = append(v.Config, kv{k, fmt.Sprint(r.Config[k])})
	}
	for _, k := range sortedKeys(r.Extras) {
		v.Extras = append(v.Extras, kv{k, sig3(r.Extras[k])})
	}
	v.Files = append(v.Files, link{relURL(path.Join(r.Name(), ResultFile)), ResultFile})
	for _, d := range r.Diagnostics {
		v.Files = append(v.Files, link{relURL(d), path.Base(d)})
	}
	for _, j := range r.Judgements() {
		v.Evals = append(v.Evals, evalView{Budget: j.Budget, Measured: j.Measured, Verdict: string(j.Verdict), Detail: j.Detail, Certain: j.Certain})
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

// budgetText reads like "containerd_rss_bytes slope ≤ 977 KiB/s after 2 s warm-up".
func budgetText(b curve.Budget, metricUnit string) string {
	unit := b.Unit(metricUnit)
	switch b.Kind {
	case curve.Slope:
		s := fmt.Sprintf("%s slope ≤ %s", b.Metric, Quantity(b.Max, unit))
		if b.Warmup > 0 {
			s += fmt.Sprintf(" after %s %s warm-up", sig3(b.Warmup), b.Per)
		}
		return s
	case curve.Ceiling:
		return fmt.Sprintf("%s peak ≤ %s", b.Metric, Quantity(b.Max, unit))
	default:
		return fmt.Sprintf("%s %s ≤ +%s", b.Metric, b.Kind, Quantity(b.Max, unit))
	}
}

// relURL turns a path relative to the run directory into a relative URL,
// each segment escaped; the "./" keeps a colon in a name from reading as a
// URL scheme.
func relURL(p string) string {
	if strings.HasPrefix(p, "/") {
		return (&url.URL{Path: p}).EscapedPath()
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "./" + strings.Join(segs, "/")
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var pageTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relapse {{.ID}}: {{.Counts}}</title>
<style>
:root { --ok: #15803d; --ok-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2; --muted: #6b7280; --line: #e5e7eb; --head: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 24px 28px 48px; max-width: 1540px; color: #111827; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 17px; margin: 0; font-weight: 650; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
a { color: #1d4ed8; text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
.host { margin: 0 0 16px; color: var(--muted); }
.counts { display: inline-block; margin: 6px 0 14px; padding: 4px 12px; border-radius: 6px; font-weight: 600; }
.counts.ok { background: var(--ok-bg); color: var(--ok); }
.counts.bad { background: var(--bad-bg); color: var(--bad); }
.warn { color: #92400e; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #374151; }
td.nowrap { white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.okcell { font-weight: 700; text-align: center; white-space: nowrap; }
td.okcell.ok { background: var(--ok-bg); color: var(--ok); }
td.okcell.bad { background: var(--bad-bg); color: var(--bad); }
.verdict { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.verdict.breach { color: #9a3412; border-color: #fdba74; background: #fff7ed; }
.verdict.hold { color: #1e3a8a; border-color: #93c5fd; background: #eff6ff; }
.verdict.inconclusive { color: #4b5563; border-color: #d1d5db; background: #f9fafb; }
.files a { margin-right: 8px; white-space: nowrap; }
section.variant { margin: 36px 0 0; padding-top: 16px; border-top: 2px solid var(--line); }
.variant-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.facts { margin: 8px 0 12px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.errtext { color: var(--bad); white-space: normal; max-width: 420px; }
.error { background: var(--bad-bg); color: var(--bad); padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; }
table.evals { margin: 4px 0 14px; }
table.evals td { font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
figure img { display: block; width: 720px; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: var(--muted); padding: 4px 2px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<h1>relapse run <code>{{.ID}}</code></h1>
<p class="host">{{.Host}}<br>started {{.Started}}{{if .Finished}} · finished {{.Finished}}{{else}} · <span class="warn">incomplete: the run was still writing or was cut short</span>{{end}}</p>
<div class="counts {{if .AllOK}}ok{{else}}bad{{end}}">{{.Counts}}</div>
{{if .Rows}}
<table class="verdicts">
<thead><tr><th>incident</th><th>variant</th><th>runtime</th><th>expected</th><th>verdict</th><th>ok</th><th>primary budget</th><th>growth</th><th>verdict after</th><th>files</th></tr></thead>
<tbody>
{{range .Rows}}<tr>
<td class="nowrap"><a href="#{{.Anchor}}">{{.Incident}}</a></td>
<td class="nowrap">{{.Variant}}</td>
<td class="nowrap">{{.Runtime}}</td>
<td>{{.Expect}}</td>
<td><span class="verdict {{.Verdict}}">{{.Verdict}}</span></td>
<td class="okcell {{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}✓ ok{{else}}✗ failed{{end}}</td>
<td class="nowrap">{{if .Metric}}<span class="mono">{{.Measured}} {{.Op}} {{.Budget}}</span><br><span class="muted">{{.Metric}}</span>{{else if not .Error}}<span class="muted">—</span>{{end}}{{if .Error}}<div class="errtext" title="{{.Error}}">error: {{.ShortError}}</div>{{end}}</td>
<td class="num">{{if .Metric}}{{.Growth}}{{else}}—{{end}}</td>
<td class="num">{{.After}}{{if .StoppedEarly}}<br><span class="muted">stopped early</span>{{end}}</td>
<td class="files">{{range .Files}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</td>
</tr>
{{end}}</tbody>
</table>
{{else}}
<p class="muted">No results recorded yet.</p>
{{end}}
{{range .Rows}}
<section class="variant" id="{{.Anchor}}">
<div class="variant-head"><h2>{{.Incident}} / {{.Variant}}</h2><span class="verdict {{.Verdict}}">{{.Verdict}}</span>
<span class="muted">expected {{.Expect}}: {{if .OK}}<b style="color:var(--ok)">ok</b>{{else}}<b style="color:var(--bad)">failed</b>{{end}}</span></div>
{{if .Title}}<p>{{.Title}}</p>{{end}}
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<dl class="facts">
<dt>runtime</dt><dd>{{.Runtime}}{{if .Binary}} <code>{{.Binary}}</code>{{end}}</dd>
{{if .Config}}<dt>config</dt><dd>{{range $i, $c := .Config}}{{if $i}}, {{end}}<code>{{$c.K}} = {{$c.V}}</code>{{end}}</dd>{{end}}
{{if .Guard}}<dt>memory guard</dt><dd>{{.Guard}}{{if .GuardFired}} · <b style="color:var(--bad)">fired</b>{{end}}</dd>{{end}}
{{if .Extras}}<dt>measured</dt><dd>{{range $i, $c := .Extras}}{{if $i}}, {{end}}{{$c.K}} = <b>{{$c.V}}</b>{{end}}</dd>{{end}}
{{if .Labels}}<dt>labels</dt><dd>{{.Labels}}</dd>{{end}}
<dt>files</dt><dd class="files">{{range .Files}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</dd>
{{range .Warnings}}<dt class="warn">warning</dt><dd class="warn">{{.}}</dd>{{end}}
</dl>
{{if .Evals}}
<table class="evals">
<thead><tr><th>budget</th><th>measured</th><th>verdict</th><th>detail</th></tr></thead>
<tbody>
{{range .Evals}}<tr><td class="mono">{{.Budget}}</td><td class="mono">{{.Measured}}</td><td><span class="verdict {{.Verdict}}">{{.Verdict}}</span>{{if .Certain}} <span class="muted">certain</span>{{end}}</td><td class="muted">{{.Detail}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<div class="charts">
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Alt}}" width="720" height="300" loading="lazy"><figcaption>raw series: {{range .Data}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</figcaption></figure>
{{end}}</div>
</section>
{{end}}
<footer>Written by relapse. Machine-readable: <a href="./summary.json">summary.json</a> · <a href="./metrics.prom">metrics.prom</a>. Charts: blue = measured, orange = Theil-Sen fit, red dashed = budget, grey = phases.</footer>
</body>
</html>
`))
