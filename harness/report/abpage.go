package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/relapse-dev/relapse/harness/judge"
)

// pairView is one pair as ab.html shows it.
type pairView struct {
	Anchor, Incident, Variant, Title, Runtime, Change string
	BaseVerdict, CandVerdict, BaseExpect, CandExpect  string
	BaseOK, CandOK, Regressed                         bool
	BaseError, CandError                              string
	Reasons                                           []string
	Evals                                             []evalDeltaView
	Charts                                            []chartView
}

type evalDeltaView struct {
	Budget, Base, Candidate, Change string
	BaseVerdict, CandVerdict        string
	Grew, Regressed                 bool
}

func newPairView(i int, p judge.Pair, charts []chartView) pairView {
	rt := strings.TrimSpace(p.Base.Runtime + " " + p.Base.Version)
	if crt := strings.TrimSpace(p.Candidate.Runtime + " " + p.Candidate.Version); crt != rt {
		rt += " → " + crt
	}
	v := pairView{
		Anchor: fmt.Sprintf("p%d", i+1), Incident: p.Incident, Variant: p.Variant, Title: p.Title, Runtime: rt, Change: p.Change,
		BaseVerdict: p.Base.Verdict, CandVerdict: p.Candidate.Verdict, BaseExpect: p.Base.Expect, CandExpect: p.Candidate.Expect,
		BaseOK: p.Base.OK, CandOK: p.Candidate.OK, Regressed: p.Regressed,
		BaseError: p.Base.Error, CandError: p.Candidate.Error, Reasons: p.Reasons, Charts: charts,
	}
	for _, e := range p.Evals {
		ev := evalDeltaView{Budget: budgetCell(e), Base: "—", Candidate: "—", Change: e.Change, Grew: e.Grew, Regressed: e.Regressed}
		if e.Base != nil {
			ev.Base, ev.BaseVerdict = measureValue(*e.Base, e.Unit), string(e.Base.Verdict)
		}
		if e.Candidate != nil {
			ev.Candidate, ev.CandVerdict = measureValue(*e.Candidate, e.Unit), string(e.Candidate.Verdict)
		}
		v.Evals = append(v.Evals, ev)
	}
	return v
}

type comparisonPage struct {
	Base, Candidate          judge.RunRef
	BaseDir, CandDir         string
	BaseStarted, CandStarted string
	Counts                   string
	Regressed                bool
	Pairs                    []pairView
	OnlyBase, OnlyCandidate  []judge.Side
	Warnings                 []string
}

// comparisonHTML renders ab.html. Every value goes through html/template.
func comparisonHTML(c judge.Comparison, views []pairView, baseDir, candDir string) ([]byte, error) {
	page := comparisonPage{
		Base: c.Base, Candidate: c.Candidate, BaseDir: baseDir, CandDir: candDir,
		BaseStarted: stamp(c.Base.Started), CandStarted: stamp(c.Candidate.Started),
		Counts: c.Counts(), Regressed: c.Regressions > 0,
		Pairs: views, OnlyBase: c.OnlyBase, OnlyCandidate: c.OnlyCandidate, Warnings: c.Warnings,
	}
	var b bytes.Buffer
	if err := compareTmpl.Execute(&b, page); err != nil {
		return nil, fmt.Errorf("render %s: %w", CompareHTMLFile, err)
	}
	return b.Bytes(), nil
}

var compareTmpl = template.Must(template.Must(template.New("ab").Parse(styleTmpl)).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relapse A/B {{.Base.ID}} vs {{.Candidate.ID}}: {{.Counts}}</title>
{{template "style"}}
</head>
<body>
<h1>relapse A/B</h1>
<dl class="runs">
<dt><span class="swatch" style="background:#1f5fbf"></span>base</dt><dd><code>{{.Base.ID}}</code> · {{range $i, $r := .Base.Runtimes}}{{if $i}}, {{end}}{{$r}}{{end}} · started {{.BaseStarted}} · kernel {{.Base.Host.Kernel}} (cgroup {{.Base.Host.CgroupVersion}}) · <span class="muted">{{.BaseDir}}</span></dd>
<dt><span class="swatch" style="background:#e07b00"></span>candidate</dt><dd><code>{{.Candidate.ID}}</code> · {{range $i, $r := .Candidate.Runtimes}}{{if $i}}, {{end}}{{$r}}{{end}} · started {{.CandStarted}} · kernel {{.Candidate.Host.Kernel}} (cgroup {{.Candidate.Host.CgroupVersion}}) · <span class="muted">{{.CandDir}}</span></dd>
</dl>
<div class="counts {{if .Regressed}}bad{{else}}ok{{end}}">{{.Counts}}</div>
{{if .Pairs}}
<table class="compare">
<thead><tr><th>incident</th><th>variant</th><th>runtime</th><th>budget</th><th>base</th><th>candidate</th><th>change</th><th></th></tr></thead>
<tbody>
{{range .Pairs}}{{$p := .}}{{if .Evals}}{{range $i, $e := .Evals}}<tr{{if $e.Regressed}} class="regressed"{{end}}>
<td class="nowrap">{{if not $i}}<a href="#{{$p.Anchor}}">{{$p.Incident}}</a>{{end}}</td>
<td class="nowrap">{{if not $i}}{{$p.Variant}}{{end}}</td>
<td class="nowrap">{{if not $i}}{{$p.Runtime}}{{end}}</td>
<td class="mono">{{$e.Budget}}</td>
<td class="mono">{{$e.Base}} {{if $e.BaseVerdict}}<span class="verdict {{$e.BaseVerdict}}">{{$e.BaseVerdict}}</span>{{end}}</td>
<td class="mono">{{$e.Candidate}} {{if $e.CandVerdict}}<span class="verdict {{$e.CandVerdict}}">{{$e.CandVerdict}}</span>{{end}}</td>
<td>{{$e.Change}}</td>
<td>{{if $e.Regressed}}<span class="badge bad">regressed</span>{{else if and (not $i) $p.Regressed}}<span class="badge bad">regressed</span>{{end}}</td>
</tr>
{{end}}{{else}}<tr{{if .Regressed}} class="regressed"{{end}}>
<td class="nowrap"><a href="#{{.Anchor}}">{{.Incident}}</a></td><td class="nowrap">{{.Variant}}</td><td class="nowrap">{{.Runtime}}</td>
<td class="muted">no budgets judged</td>
<td><span class="verdict {{.BaseVerdict}}">{{.BaseVerdict}}</span></td><td><span class="verdict {{.CandVerdict}}">{{.CandVerdict}}</span></td>
<td>{{.Change}}</td><td>{{if .Regressed}}<span class="badge bad">regressed</span>{{end}}</td>
</tr>
{{end}}{{end}}</tbody>
</table>
{{else}}
<p class="muted">The runs have no incident variant in common.</p>
{{end}}
{{if .OnlyBase}}<h2>Only in the base</h2><ul>{{range .OnlyBase}}<li>{{.Incident}} / {{.Variant}} ({{.Runtime}} {{.Version}}, {{.Verdict}}){{if .OK}} <span class="badge bad">regressed: missing from the candidate</span>{{end}}</li>{{end}}</ul>{{end}}
{{if .OnlyCandidate}}<h2>Only in the candidate</h2><ul>{{range .OnlyCandidate}}<li>{{.Incident}} / {{.Variant}} ({{.Runtime}} {{.Version}}, {{.Verdict}})</li>{{end}}</ul>{{end}}
{{range .Warnings}}<p class="warn">warning: {{.}}</p>{{end}}
{{range .Pairs}}
<section class="pair" id="{{.Anchor}}">
<h2>{{.Incident}} / {{.Variant}} {{if .Regressed}}<span class="badge bad">regressed</span>{{else}}<span class="badge ok">not regressed</span>{{end}}</h2>
{{if .Title}}<p>{{.Title}}</p>{{end}}
<p>{{.Runtime}}: {{.Change}}. Base expected {{.BaseExpect}}, gave <span class="verdict {{.BaseVerdict}}">{{.BaseVerdict}}</span>{{if .BaseOK}} (ok){{else}} (failed){{end}}; candidate expected {{.CandExpect}}, gave <span class="verdict {{.CandVerdict}}">{{.CandVerdict}}</span>{{if .CandOK}} (ok){{else}} (failed){{end}}.</p>
{{if .BaseError}}<p class="warn">base error: {{.BaseError}}</p>{{end}}
{{if .CandError}}<p class="reasons">candidate error: {{.CandError}}</p>{{end}}
{{if .Reasons}}<ul class="reasons">{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="charts">
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Alt}}" width="720" height="300" loading="lazy"><figcaption>{{.Alt}}</figcaption></figure>
{{else}}<p class="muted">No series of both runs to overlay.</p>
{{end}}</div>
</section>
{{end}}
<footer>Written by relapse. Machine-readable: <a href="./ab.json">ab.json</a> · <a href="./ab.txt">ab.txt</a>. Charts: blue = base, orange = candidate, dotted = each run's Theil-Sen fit, red dashed = the candidate's budget; time is counted from each run's stimulus start.</footer>
</body>
</html>
`))
