package report

import (
	"bytes"
	"fmt"
	"html/template"
	"path/filepath"
	"strings"

	"github.com/relapse-dev/relapse/harness/bisect"
	"github.com/relapse-dev/relapse/harness/results"
)

// bisectStepView is one row of bisect.html.
type bisectStepView struct {
	N                                int
	Candidate, Build, Verdict, Skip  string
	Headline, Runs, Link, Page, Took string
	Note                             string
	First                            bool
}

type bisectPage struct {
	R          bisect.Report
	Conclusion string
	Range      string
	Steps      []bisectStepView
	Wall       string
}

var bisectTmpl = template.Must(template.Must(template.New("bisect").Parse(styleTmpl)).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
{{if not .R.Done}}<meta http-equiv="refresh" content="10">{{end}}
<title>relapse bisect {{.R.Incident}}/{{.R.Variant}}</title>{{template "style"}}</head><body>
<h1>bisect {{.R.Incident}} / {{.R.Variant}}</h1>
<p class="host">{{.R.Runtime}} {{.R.Level}} builds {{.Range}} · started {{.R.Started.Format "2006-01-02 15:04:05 UTC"}} · wall {{.Wall}}</p>
<div class="counts {{if .R.First}}ok{{else if .R.Done}}bad{{end}}">{{.Conclusion}}</div>
<table><thead><tr><th>#</th><th>build</th><th>verdict</th><th>headline</th><th>runs</th><th>took</th><th>run</th></tr></thead><tbody>
{{range .Steps}}<tr{{if .First}} style="font-weight:600"{{end}}><td class="num">{{.N}}</td><td class="mono">{{.Candidate}}{{if .Build}}<br><span class="muted">{{.Build}}</span>{{end}}</td>
<td>{{if .Skip}}<span class="verdict inconclusive">skip</span>{{else}}<span class="verdict {{.Verdict}}">{{.Verdict}}</span>{{end}}</td>
<td>{{.Headline}}</td><td class="mono">{{.Runs}}</td><td class="nowrap">{{.Took}}{{if .Note}} <span class="muted">{{.Note}}</span>{{end}}</td>
<td>{{if .Link}}<a href="{{.Page}}">report</a> · <a href="{{.Link}}/">files</a>{{end}}</td></tr>
{{end}}</tbody></table>
<p class="muted">{{len .R.Candidates}} builds in the range; a search judges at most {{.R.MaxJudged}} of them (ceil(log2 n)+1) when none is skipped. Candidates: {{range .R.Candidates}}<code>{{.}}</code> {{end}}</p>
</body></html>
`))

// WriteBisect writes bisect.html for r into dir (the run directory of its
// steps), linking every step to its run's results.
func WriteBisect(dir string, r bisect.Report) error {
	p := bisectPage{R: r, Conclusion: r.Conclusion(), Wall: fmt.Sprintf("%.0fs", r.WallS)}
	if len(r.Candidates) > 0 {
		p.Range = bisect.Short(r.Candidates[0]) + " … " + bisect.Short(r.Candidates[len(r.Candidates)-1])
	}
	for i, s := range r.Steps {
		v := bisectStepView{
			N: i + 1, Candidate: bisect.Short(s.Candidate), Build: s.Build, Verdict: string(s.Verdict), Skip: s.Skip,
			Headline: s.Headline(), Link: bisect.ResultLink(dir, s), Page: stepPage(dir, r.Incident, s), First: s.Candidate == r.First,
			Took: fmt.Sprintf("build %.0fs, runs %.0fs", s.BuildS, s.RunS),
		}
		for j, run := range s.Runs {
			if j > 0 {
				v.Runs += " "
			}
			v.Runs += run
		}
		if s.Cached {
			v.Note = "(cached)"
		}
		p.Steps = append(p.Steps, v)
	}
	var b bytes.Buffer
	if err := bisectTmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("bisect.html: %w", err)
	}
	return results.WriteFile(filepath.Join(dir, bisect.HTMLFile), b.Bytes())
}

// stepPage links a step's row in the index.html of the run that judged it
// (this run, or an earlier one for a cached step).
func stepPage(dir, incident string, s bisect.Step) string {
	if s.Result == "" {
		return ""
	}
	run := filepath.Dir(filepath.Dir(s.Result))
	rel, err := filepath.Rel(dir, filepath.Join(run, "index.html"))
	if err != nil {
		return ""
	}
	variant, cell, _ := strings.Cut(filepath.Base(s.Result), "@")
	anchor := incident + "--" + variant
	if cell != "" {
		anchor += "--" + strings.ReplaceAll(cell, ".", "-")
	}
	return filepath.ToSlash(rel) + "#" + anchor
}
