package report

import (
	"bytes"
	"fmt"
	"html/template"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// HTML renders a run as one static page: the run and host, a verdict table,
// then each variant's budgets and charts. Every value goes through
// html/template, so an odd incident name cannot inject markup. Links are
// relative to the run directory, so the page works wherever it is copied.
func HTML(run results.Run) ([]byte, error) {
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

func newPage(run results.Run) pageView {
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
	return p
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
		v.Config = append(v.Config, kv{k, fmt.Sprint(r.Config[k])})
	}
	for _, k := range sortedKeys(r.Extras) {
		v.Extras = append(v.Extras, kv{k, results.Number(r.Extras[k])})
	}
	v.Files = append(v.Files, link{relURL(path.Join(r.Name(), results.ResultFile)), results.ResultFile})
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

var pageTmpl = template.Must(template.Must(template.New("index").Parse(styleTmpl)).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relapse {{.ID}}: {{.Counts}}</title>
{{template "style"}}
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
