package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

func TestIndexHasEveryVariantRowAndItsCharts(t *testing.T) {
	w := writeSample(t, t.TempDir())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(w.Dir(), IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	rows := strings.Split(page, "<tr>")
	for _, r := range w.Run().Results {
		found := false
		for _, row := range rows {
			if strings.Contains(row, ">"+r.Incident+"</a>") && strings.Contains(row, ">"+r.Variant+"<br>") {
				found = true
			}
		}
		if !found {
			t.Errorf("no verdict row for %s/%s", r.Incident, r.Variant)
		}
		for _, c := range r.Charts {
			if !strings.Contains(page, `<img src="./`+c+`"`) {
				t.Errorf("chart %s not embedded", c)
			}
			if _, err := os.Stat(filepath.Join(w.Dir(), c)); err != nil {
				t.Errorf("embedded chart missing: %v", err)
			}
		}
	}
	for _, want := range []string{"3 passed, 0 failed", `class="okcell ok"`, "52 MiB/s &gt; 1 MiB/s", "stopped early",
		`href="./sample-log-growth/unlimited/goroutines.txt"`, "max_container_log_line_size = -1", "inflight_peak_goroutines", w.Run().Host.Kernel} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(page, `class="okcell bad"`) || strings.Contains(page, "incomplete") {
		t.Errorf("a passing, closed run shows a failure or incomplete marker")
	}
}

func TestHTMLEscapesMaliciousNames(t *testing.T) {
	evil := `<script>alert("pwned")</script><img src=x onerror=alert(1)>`
	run := results.Run{ID: `id"><b>`, Results: []results.Result{{
		Incident: evil, Variant: `v" onmouseover="x`, Runtime: "containerd", Expect: string(curve.Breach), Verdict: string(curve.Hold),
		Error: "</p><script>bad()</script>", Config: map[string]any{"<k>": "<v>"},
		Diagnostics: []string{`javascript:alert(1)`}, Charts: []string{evil + "/x/m.svg"},
	}}}
	b, err := HTML(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, bad := range []string{"<script>alert", "<script>bad", "<img src=x", `onmouseover="x`, `"><b>`, "<k>", `href="javascript:`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;", `class="okcell bad"`, "0 passed, 1 failed"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLOfEmptyRun(t *testing.T) {
	b, err := HTML(results.Run{ID: "empty"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "No results recorded yet") || !strings.Contains(string(b), "incomplete") {
		t.Errorf("empty, unfinished run page:\n%s", b)
	}
}
