package report

import (
	"bytes"
	"context"
	"html"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/results"
)

// Browser viewport of the page tests: a laptop screen.
const (
	viewW = 1280
	viewH = 2000
)

// chromium returns the headless browser the page tests drive. CI must have
// it (scripts/install-deps.sh installs it), so there a missing one fails.
func chromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed but CI=true: run scripts/install-deps.sh as root (%v)", err)
	}
	t.Skipf("chromium is not installed; scripts/install-deps.sh installs it (%v)", err)
	return ""
}

// runChromium runs headless chromium on a local page with the test
// viewport and returns its stdout.
func runChromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=" + strconv.Itoa(viewW) + "," + strconv.Itoa(viewH)}, args...)
	all = append(all, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// browserRun records a small run through Store and Renderer: two
// incidents, each with a variant that must breach and one that must hold,
// judged by the real judge, and a breach with long diagnostics names that
// could push the table off the page.
func browserRun(t *testing.T) (dir string, run results.Run) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	const mib = 1 << 20
	rss := func(grow float64) curve.Series {
		s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
			Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 2}, {Name: curve.PhaseSettle, T: 20}}}
		for i := 0; i <= 220; i++ {
			t := float64(i) * 0.1
			v := 41*mib + rng.Float64()*0.5*mib
			if t >= 2 {
				v += math.Min(t-2, 18) * grow * mib
			}
			s.Points = append(s.Points, curve.Point{T: t, Op: math.Max(0, math.Floor((t-2)*40)), V: v})
		}
		return s
	}
	goroutines := func(perOp float64) curve.Series {
		s := curve.Series{Metric: "dockerd_goroutines", Unit: "goroutines",
			Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 3}, {Name: curve.PhaseSettle, T: 43}}}
		for i := 0; i <= 500; i++ {
			t := float64(i) * 0.1
			op := math.Min(math.Max(0, math.Floor((t-3)*2)), 80)
			s.Points = append(s.Points, curve.Point{T: t, Op: op, V: math.Round(55 + perOp*op + rng.Float64()*4)})
		}
		return s
	}
	rssBudgets := []curve.Budget{{Metric: "containerd_rss_bytes", Kind: curve.Slope, Per: curve.PerSecond, Max: mib, Warmup: 1}}
	killBudgets := []curve.Budget{{Metric: "dockerd_goroutines", Kind: curve.Slope, Per: curve.PerOp, Max: 0.25, Warmup: 10}}

	store, err := results.Open(t.TempDir(), "", Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(incident, variant, version string, expect curve.Verdict, bs []curve.Budget, s curve.Series, diags ...string) {
		t.Helper()
		r := results.Result{Incident: incident, Variant: variant, Runtime: "containerd", Version: version, Expect: string(expect),
			Title: "a made-up " + incident + " reproduction", Config: map[string]any{"max_container_log_line_size": 16384.0, "ratio": 0.123456789}}
		judge.Fill(&r, judge.Judge(bs, []curve.Series{s}), []curve.Series{s})
		vdir, err := store.VariantDir(incident, variant, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diags {
			p := filepath.Join(vdir, d)
			if err := os.WriteFile(p, []byte("goroutine 1 [running]:\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r.Diagnostics = append(r.Diagnostics, p)
		}
		if err := store.Add(r, []curve.Series{s}); err != nil {
			t.Fatal(err)
		}
	}
	add("sample-log-growth", "unlimited", "1.6.20", curve.Breach, rssBudgets, rss(55.3),
		"containerd-goroutine-dump-after-the-breach-was-certain.txt", "containerd-smaps-rollup-after-the-breach-was-certain.txt")
	add("sample-log-growth", "default-limit", "1.6.20", curve.Hold, rssBudgets, rss(0))
	add("dockerd-kill-dstate", "dstate-20-10-5", "20.10.5", curve.Breach, killBudgets, goroutines(1.96),
		"dockerd-goroutines-sigquit-dump-with-a-very-long-name-indeed.txt")
	add("dockerd-kill-dstate", "fixed", "20.10.24", curve.Hold, killBudgets, goroutines(0))
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return store.Dir(), store.Run()
}

// TestIndexInABrowser renders a run's index.html in headless chromium and
// checks what a reader sees: a screenshot of the requested width, no
// number with more than four significant digits in any text, the overviews
// before the verdict table, every per-metric chart folded in a closed
// <details>, and nothing wider than the window.
func TestIndexInABrowser(t *testing.T) {
	bin := chromium(t)
	dir, run := browserRun(t)
	index := filepath.Join(dir, IndexFile)

	shot := filepath.Join(t.TempDir(), "index.png")
	runChromium(t, bin, index, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != viewW || cfg.Height != viewH {
		t.Errorf("screenshot is %dx%d, want %dx%d", cfg.Width, cfg.Height, viewW, viewH)
	}

	// A copy of the page, next to it so its relative links still resolve,
	// that writes the layout's widths into the DOM once laid out.
	src, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	const probe = `<script>(function(){var d=document.documentElement,w=document.querySelector(".verdicts").parentNode,p=document.createElement("pre");` +
		`p.id="probe";p.textContent="scroll="+d.scrollWidth+" client="+d.clientWidth+" table="+w.scrollWidth+" box="+w.clientWidth;` +
		`document.body.appendChild(p);})();</script></body>`
	probed := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probed, bytes.Replace(src, []byte("</body>"), []byte(probe), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(runChromium(t, bin, probed, "--dump-dom", "--virtual-time-budget=3000"))

	m := regexp.MustCompile(`id="probe">scroll=(\d+) client=(\d+) table=(\d+) box=(\d+)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not write the page's widths; dumped DOM:\n%s", dom)
	}
	if m[1] != m[2] || m[2] != strconv.Itoa(viewW) {
		t.Errorf("page scroll width %s, client width %s, window %d: the page overflows horizontally", m[1], m[2], viewW)
	}
	if m[3] != m[4] {
		t.Errorf("verdict table is %spx wide in a %spx box: it must fit without scrolling", m[3], m[4])
	}

	for _, text := range textNodes(dom) {
		for _, n := range floatLiteral.FindAllStringSubmatch(text, -1) {
			if sig := countSignificant(n[1]); sig > 4 {
				t.Errorf("text %q shows %s (%d significant digits)", shortenForLog(text), n[1], sig)
			}
		}
	}

	overview, table := strings.Index(dom, `class="overview"`), strings.Index(dom, `class="verdicts"`)
	if overview < 0 || table < 0 || overview > table {
		t.Errorf("overviews at %d, verdict table at %d: the overviews must come first", overview, table)
	}
	for _, inc := range []string{"sample-log-growth", "dockerd-kill-dstate"} {
		if n := strings.Count(dom[overview:table], `src="./`+inc+`/overview-`); n != 1 {
			t.Errorf("%s has %d overview charts before the table, want 1", inc, n)
		}
	}

	folds := variantFolds.FindAllStringSubmatch(dom, -1)
	if len(folds) != len(run.Results) {
		t.Fatalf("%d folded variants, want %d", len(folds), len(run.Results))
	}
	folded := ""
	for _, f := range folds {
		if regexp.MustCompile(`\sopen(=|\s|>)`).MatchString(f[1]) {
			t.Errorf("variant <details%s> is open; it must start closed", f[1])
		}
		folded += f[2]
	}
	for _, r := range run.Results {
		if len(r.Charts) == 0 {
			t.Errorf("%s has no charts to fold", r.Name())
		}
		for _, c := range r.Charts {
			src := `src="` + relURL(c) + `"`
			if !strings.Contains(folded, src) {
				t.Errorf("chart %s is not inside a variant's <details>", c)
			}
			if strings.Count(dom, src) != 1 {
				t.Errorf("chart %s appears %d times, want once (folded)", c, strings.Count(dom, src))
			}
		}
	}
}

// floatLiteral is a decimal number with a fraction or exponent standing on
// its own (a version such as 20.10.24 is not one).
var floatLiteral = regexp.MustCompile(`(?:^|[^0-9.])(-?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)(?:$|[^0-9.])`)

// variantFolds matches each variant's <details> with its attributes and
// contents (they hold no nested <details>).
var variantFolds = regexp.MustCompile(`(?s)<details( class="variant"[^>]*)>(.*?)</details>`)

// countSignificant counts the significant digits of a literal's mantissa.
func countSignificant(lit string) int {
	mant, _, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(lit, "-")), "e")
	return len(strings.TrimLeft(strings.ReplaceAll(mant, ".", ""), "0"))
}

// textNodes returns the text a reader can see in a serialised DOM:
// everything outside tags, scripts and the stylesheet, unescaped.
func textNodes(dom string) []string {
	dom = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`).ReplaceAllString(dom, "")
	var out []string
	for _, t := range regexp.MustCompile(`<[^>]*>`).Split(dom, -1) {
		if t = strings.TrimSpace(html.UnescapeString(t)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func shortenForLog(s string) string { return shorten(s, 120) }
