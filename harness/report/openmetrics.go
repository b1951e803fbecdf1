package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/results"
)

// family is one OpenMetrics gauge family and how to read it off a result.
type family struct {
	name, help string
	// value returns the sample value and whether the result has one.
	value func(results.Result) (float64, bool)
}

var families = []family{
	{"relapse_slope", "Measured value of the primary budget (a robust slope in the metric's unit per second or per op, unless the budget is of another kind).",
		func(r results.Result) (float64, bool) { return r.Slope, r.Metric != "" }},
	{"relapse_budget", "Bound of the primary budget, in the same unit as relapse_slope.",
		func(r results.Result) (float64, bool) { return r.Budget, r.Metric != "" }},
	{"relapse_verdict_ok", "1 when the variant gave its expected verdict without error, else 0.",
		func(r results.Result) (float64, bool) {
			if r.OK {
				return 1, true
			}
			return 0, true
		}},
	{"relapse_growth", "Last minus first value of the primary metric, in its unit.",
		func(r results.Result) (float64, bool) { return r.Growth, r.Metric != "" }},
}

// OpenMetrics renders a run as OpenMetrics text (gauges labelled incident,
// variant, runtime, version, metric; ending "# EOF"), so a node exporter's
// textfile collector or a Pushgateway can put nightly results on dashboards.
func OpenMetrics(run results.Run) []byte {
	var b bytes.Buffer
	for _, f := range families {
		fmt.Fprintf(&b, "# TYPE %s gauge\n# HELP %s %s\n", f.name, f.name, escapeHelp(f.help))
		for _, r := range run.Results {
			v, ok := f.value(r)
			if !ok || !finite(v) {
				continue
			}
			fmt.Fprintf(&b, "%s{incident=%s,variant=%s,runtime=%s,version=%s,metric=%s} %s\n", f.name,
				labelValue(r.Incident), labelValue(r.Variant), labelValue(r.Runtime), labelValue(r.Version), labelValue(r.Metric),
				strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

// labelValue quotes a label value with OpenMetrics escapes (\\, \", \n).
func labelValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// escapeHelp escapes HELP text (\\, \n; OpenMetrics also escapes \").
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
