package bisect

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/results"
)

// Files a bisection writes into its run directory, next to the runs'.
const (
	JSONFile = "bisect.json"
	HTMLFile = "bisect.html"
)

// Report is a bisection as bisect.json holds it, rewritten after every
// step so an interrupted bisection still shows what it judged.
type Report struct {
	Incident string `json:"incident"`
	Variant  string `json:"variant"`
	Runtime  string `json:"runtime"`
	// Level is "release" (module proxy tags) or "commit" (a clone's
	// first-parent history).
	Level string `json:"level"`
	// Good and Bad are the range's ends as given.
	Good string `json:"good"`
	Bad  string `json:"bad"`
	// Candidates are every build in the range, Good first, Bad last.
	Candidates []string `json:"candidates"`
	// MaxJudged is ceil(log2 n)+1 for n candidates: the most builds the
	// search judges when none is skipped.
	MaxJudged int    `json:"max_judged"`
	Steps     []Step `json:"steps"`
	// First is the answer; Between the candidates it is among when skips
	// hide it; Error why there is neither.
	First   string   `json:"first,omitempty"`
	Between []string `json:"between,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Done is false while the bisection runs.
	Done    bool      `json:"done"`
	Started time.Time `json:"started"`
	WallS   float64   `json:"wall_s"`
}

// MaxJudged is ceil(log2 n)+1.
func MaxJudged(n int) int {
	if n < 2 {
		return n
	}
	return int(math.Ceil(math.Log2(float64(n)))) + 1
}

// Judged counts the steps that steered the search (not skipped).
func (r Report) Judged() int {
	n := 0
	for _, s := range r.Steps {
		if s.Skip == "" {
			n++
		}
	}
	return n
}

// Verdicts reads like "v2.3.4=breach v2.3.6=hold v2.3.5=hold": the running
// verdicts in the order judged.
func (r Report) Verdicts() string {
	var parts []string
	for _, s := range r.Steps {
		v := string(s.Verdict)
		if s.Skip != "" {
			v = "skip"
		}
		parts = append(parts, Short(s.Candidate)+"="+v)
	}
	return strings.Join(parts, " ")
}

// Conclusion is the bisection's answer in one line.
func (r Report) Conclusion() string {
	want := ""
	if len(r.Steps) > 0 {
		want = string(r.Steps[0].Verdict)
	}
	switch {
	case r.First != "":
		got := ""
		for _, s := range r.Steps {
			if s.Candidate == r.First {
				got = string(s.Verdict)
			}
		}
		return fmt.Sprintf("%s/%s: %s is the first build that gives %s (%s gives %s); %d builds judged of %d (at most %d)",
			r.Incident, r.Variant, Short(r.First), got, r.Good, want, r.Judged(), len(r.Candidates), r.MaxJudged)
	case len(r.Between) > 0:
		return fmt.Sprintf("%s/%s: the verdict changes from %s at one of %s; the builds between could not be judged (see the skipped steps)",
			r.Incident, r.Variant, want, strings.Join(r.Between, " "))
	case r.Error != "":
		return fmt.Sprintf("%s/%s: %s", r.Incident, r.Variant, r.Error)
	}
	return fmt.Sprintf("%s/%s: running, %d of at most %d builds judged", r.Incident, r.Variant, r.Judged(), r.MaxJudged)
}

// ResultLink is a step's run directory relative to dir, for links in the
// pages written into dir.
func ResultLink(dir string, s Step) string {
	if s.Result == "" {
		return ""
	}
	rel, err := filepath.Rel(dir, s.Result)
	if err != nil {
		return s.Result
	}
	return filepath.ToSlash(rel)
}

// Write writes bisect.json into dir.
func (r Report) Write(dir string) error {
	return results.WriteJSON(filepath.Join(dir, JSONFile), r)
}

// Short is a candidate as people read it: a commit hash cut to 12
// characters, a tag as it is.
func Short(candidate string) string {
	if len(candidate) == 40 && strings.Trim(candidate, "0123456789abcdef") == "" {
		return candidate[:12]
	}
	return candidate
}

// oneLine keeps a message on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
