package report

import "html/template"

// pageTmpl is index.html. It opens on the incidents' overviews, the one
// picture each that says whether the vulnerable variants grew and the
// fixed ones held; the verdict table follows; each variant's facts,
// budgets and per-metric charts are folded in a closed <details> (its
// images load when opened), so the page stays short however many metrics a
// run sampled. The script opens a variant's <details> when a link from the
// table targets it, which browsers do not do for a closed one on their own.
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
{{if .Incidents}}
<section class="overview" id="overview">
{{range .Incidents}}<article class="incident" id="{{.Anchor}}">
<div class="incident-head"><h2>{{.Name}}</h2><span class="badge {{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}✓{{else}}✗{{end}} {{.Counts}}</span></div>
{{if .Title}}<p class="muted">{{.Title}}</p>{{end}}
{{range .Charts}}{{if .Src}}<img src="{{.Src}}" alt="{{.Alt}}" width="720">{{end}}
{{range .Missing}}<p class="muted">not drawn: {{.}}</p>{{end}}
{{else}}<p class="muted">No primary series to draw.</p>
{{end}}</article>
{{end}}</section>
{{end}}
{{if .Rows}}
<div class="tablewrap">
<table class="verdicts">
<thead><tr><th>incident</th><th>variant</th><th>verdict</th><th>ok</th><th>primary budget</th><th>growth</th><th>verdict after</th><th>files</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if not .OK}} class="failed"{{end}}>
<td class="name"><a href="#{{.Anchor}}">{{.Incident}}</a></td>
<td class="name">{{.Variant}}<br><span class="muted small">{{.Runtime}}</span></td>
<td><span class="verdict {{.Verdict}}">{{.Verdict}}</span><br><span class="muted small nowrap">expected {{.Expect}}</span></td>
<td class="okcell {{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}✓ ok{{else}}✗ failed{{end}}</td>
<td>{{if .Metric}}<span class="mono nowrap">{{.Measured}} {{.Op}} {{.Budget}}</span><br><span class="muted name">{{.Metric}}</span>{{else if not .Error}}<span class="muted">—</span>{{end}}{{if .Error}}<div class="errtext" title="{{.Error}}">error: {{.ShortError}}</div>{{end}}</td>
<td class="num">{{if .Metric}}{{.Growth}}{{else}}—{{end}}</td>
<td class="num">{{.After}}{{if .StoppedEarly}}<br><span class="muted">stopped early</span>{{end}}</td>
<td class="files">{{if eq (len .Files) 1}}{{range .Files}}<a href="{{.Href}}">{{.Text}}</a>{{end}}{{else}}<details><summary>{{len .Files}} files</summary>{{range .Files}}<a href="{{.Href}}">{{.Text}}</a>{{end}}</details>{{end}}</td>
</tr>
{{end}}</tbody>
</table>
</div>
{{else}}
<p class="muted">No results recorded yet.</p>
{{end}}
{{if .Rows}}<h2 class="fold-head">Every variant's budgets and charts</h2>{{end}}
{{range .Rows}}
<details class="variant" id="{{.Anchor}}">
<summary><span class="variant-name">{{.Incident}} / {{.Variant}}</span> <span class="verdict {{.Verdict}}">{{.Verdict}}</span>
<span class="{{if .OK}}okmark{{else}}badmark{{end}}">{{if .OK}}✓ ok{{else}}✗ failed{{end}}</span> <span class="muted">expected {{.Expect}}{{if .Headline}} · {{.Headline}}{{end}} · {{len .Charts}} charts</span></summary>
{{if .Title}}<p>{{.Title}}</p>{{end}}
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<dl class="facts">
<dt>runtime</dt><dd>{{.Runtime}}{{if .Binary}} <code>{{.Binary}}</code>{{end}}</dd>
{{if .Components}}<dt>ran with</dt><dd>{{range $i, $c := .Components}}{{if $i}}; {{end}}{{$c.K}}: {{$c.V}}{{end}}</dd>{{end}}
{{if .Config}}<dt>config</dt><dd>{{range $i, $c := .Config}}{{if $i}}, {{end}}<code>{{$c.K}} = {{$c.V}}</code>{{end}}</dd>{{end}}
{{if .Guard}}<dt>memory guard</dt><dd>{{.Guard}}{{if .GuardFired}} · <b class="badmark">fired</b>{{end}}</dd>{{end}}
{{if .Extras}}<dt>measured</dt><dd>{{range $i, $c := .Extras}}{{if $i}}, {{end}}{{$c.K}} = <b>{{$c.V}}</b>{{end}}</dd>{{end}}
{{if .Labels}}<dt>labels</dt><dd>{{.Labels}}</dd>{{end}}
<dt>files</dt><dd class="files">{{range .Files}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</dd>
{{range .Warnings}}<dt class="warn">warning</dt><dd class="warn">{{.}}</dd>{{end}}
</dl>
{{if .Evals}}
<div class="tablewrap">
<table class="evals">
<thead><tr><th>budget</th><th>measured</th><th>verdict</th><th>detail</th></tr></thead>
<tbody>
{{range .Evals}}<tr><td class="mono">{{.Budget}}</td><td class="mono">{{.Measured}}</td><td><span class="verdict {{.Verdict}}">{{.Verdict}}</span>{{if .Certain}} <span class="muted">certain</span>{{end}}</td><td class="muted">{{.Detail}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{end}}
<div class="charts">
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Alt}}" width="720" height="300" loading="lazy"><figcaption>raw series: {{range .Data}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</figcaption></figure>
{{end}}</div>
</details>
{{end}}
<footer>Written by relapse. Machine-readable: <a href="./summary.json">summary.json</a> · <a href="./metrics.prom">metrics.prom</a>.
Overviews: one line per variant, time counted from its stimulus start (or against stimulus ops for a per-op budget); warm colours must breach, greens and blues must hold; red dashed = the budget.
Variant charts: blue = measured, orange = Theil-Sen fit, red dashed = budget, grey = phases.</footer>
<script>
function openTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var el = id && document.getElementById(id);
  if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
}
addEventListener("hashchange", openTarget);
openTarget();
</script>
</body>
</html>
`))
