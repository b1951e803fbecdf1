package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/results/resultstest"
)

// github.com/prometheus/common/expfmt is not in the module graph, so the
// text is checked against the OpenMetrics line grammar here: metadata
// lines, samples with quoted escaped labels and a float value, and a final
// "# EOF".
var (
	omType   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|info|stateset|unknown)$`)
	omHelp   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n"])*$`)
	omSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\n"])*",?)*)\} (\S+)$`)
	omLabel  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// sample is one parsed OpenMetrics sample.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func parseOpenMetrics(t *testing.T, text string) []sample {
	t.Helper()
	if !strings.HasSuffix(text, "# EOF\n") {
		t.Fatalf("does not end with # EOF:\n%s", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	typed := map[string]bool{}
	seen := map[string]bool{}
	current := ""
	var out []sample
	for i, l := range lines[:len(lines)-1] {
		switch {
		case omType.MatchString(l):
			name := omType.FindStringSubmatch(l)[1]
			if typed[name] {
				t.Errorf("line %d: family %s declared twice (families must not interleave)", i+1, name)
			}
			typed[name], current = true, name
		case omHelp.MatchString(l):
			if omHelp.FindStringSubmatch(l)[1] != current {
				t.Errorf("line %d: HELP for a family other than %s", i+1, current)
			}
		case omSample.MatchString(l):
			m := omSample.FindStringSubmatch(l)
			if m[1] != current {
				t.Errorf("line %d: sample of %s under family %s", i+1, m[1], current)
			}
			if seen[m[1]+"{"+m[2]+"}"] {
				t.Errorf("line %d: duplicate series", i+1)
			}
			seen[m[1]+"{"+m[2]+"}"] = true
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Errorf("line %d: value %q: %v", i+1, m[3], err)
			}
			s := sample{name: m[1], labels: map[string]string{}, value: v}
			for _, lm := range omLabel.FindAllStringSubmatch(m[2], -1) {
				s.labels[lm[1]] = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(lm[2])
			}
			out = append(out, s)
		default:
			t.Errorf("line %d is not OpenMetrics: %q", i+1, l)
		}
	}
	return out
}

func TestOpenMetrics(t *testing.T) {
	var run results.Run
	for _, s := range resultstest.Sample() {
		r := s.Result
		run.Results = append(run.Results, r)
	}
	odd := results.Result{Incident: `we"ird\name`, Variant: "line\nbreak", Runtime: "dockerd", Expect: string(curve.Hold), Verdict: string(curve.Inconclusive), Error: "x"}
	run.Results = append(run.Results, odd)

	samples := parseOpenMetrics(t, string(OpenMetrics(run)))
	get := func(name, incident, variant string) (sample, bool) {
		for _, s := range samples {
			if s.name == name && s.labels["incident"] == incident && s.labels["variant"] == variant {
				return s, true
			}
		}
		return sample{}, false
	}
	s, ok := get("relapse_slope", "sample-log-growth", "unlimited")
	if !ok || s.value < 50<<20 || s.labels["runtime"] != "containerd" || s.labels["version"] != "1.6.20" || s.labels["metric"] != "containerd_rss_bytes" {
		t.Errorf("relapse_slope of the breach: %+v", s)
	}
	for _, name := range []string{"relapse_budget", "relapse_verdict_ok", "relapse_growth"} {
		if s, ok := get(name, "sample-loop-drain", "fixed"); !ok || len(s.labels) != 5 {
			t.Errorf("%s of the kill loop: %+v", name, s)
		}
	}
	if s, ok := get("relapse_verdict_ok", odd.Incident, odd.Variant); !ok || s.value != 0 {
		t.Errorf("escaped labels did not round-trip, or ok of a failed run is not 0: %+v", s)
	}
	if _, ok := get("relapse_slope", odd.Incident, odd.Variant); ok {
		t.Errorf("a result without a primary metric has a slope sample")
	}
}
