package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/judge"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/scenarios"
)

// relapse runs the command in-process and returns its exit code and output.
func relapse(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(args, &out, &errs)
	return code, out.String(), errs.String()
}

func wantCode(t *testing.T, args []string, want int) (string, string) {
	t.Helper()
	code, out, errs := relapse(t, args...)
	if code != want {
		t.Fatalf("relapse %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errs)
	}
	return out, errs
}

const mib = 1 << 20

// writeRun records a one-variant run as the engine does (judge, then a
// rendering results.Store): containerd RSS
// growing by rate bytes/s against a 1 MiB/s budget the variant must hold.
func writeRun(t *testing.T, id, version string, rate float64) string {
	t.Helper()
	return writeRunWith(t, curve.DefaultRules, id, version, rate)
}

// stimulusS is how long writeRun's stimulus lasts: after the 1 s warm-up
// a 19 s window, 9 blocks of 2 s, which curve.RulesV3 (the default) needs
// to bound a slope (a window of 12 s or less decides nothing).
const stimulusS = 20

// writeRunWith is writeRun judged under the given rules.
func writeRunWith(t *testing.T, rules curve.Rules, id, version string, rate float64) string {
	t.Helper()
	s := curve.Series{Metric: "containerd_rss_bytes", Unit: "bytes",
		Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 2}, {Name: curve.PhaseSettle, T: 2 + stimulusS}}}
	for i := 0; float64(i)*0.1 <= 2+stimulusS+1; i++ {
		t := float64(i) * 0.1
		v := 47*mib + float64(i%7)*0.03*mib
		if t >= 2 {
			v += math.Min(t-2, stimulusS) * rate
		}
		s.Points = append(s.Points, curve.Point{T: t, Op: math.Floor(t), V: v})
	}
	budgets := []curve.Budget{{Metric: s.Metric, Kind: curve.Slope, Per: curve.PerSecond, Max: 1 * mib, Warmup: 1}}
	w, err := results.Open(t.TempDir(), id, report.Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	r := results.Result{Incident: "containerd-huge-log-line", Variant: "default", Runtime: "containerd", Version: version,
		Expect: string(curve.Hold)}
	judge.Fill(&r, judge.JudgeWith(rules, budgets, []curve.Series{s}), []curve.Series{s})
	if rules != curve.RulesV1 {
		r.Rules = string(rules)
	}
	if err := w.Add(r, []curve.Series{s}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Dir()
}

func TestUsage(t *testing.T) {
	_, errs := wantCode(t, nil, exitUsage)
	if !strings.Contains(errs, "no command given") || !strings.Contains(errs, "usage: relapse COMMAND") {
		t.Errorf("stderr %q", errs)
	}
	_, errs = wantCode(t, []string{"frobnicate"}, exitUsage)
	if !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("stderr %q does not name the unknown command", errs)
	}
	out, _ := wantCode(t, []string{"help"}, exitOK)
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("help lacks %s:\n%s", c.name, out)
		}
	}
	_, errs = wantCode(t, []string{"table", "-bogus", "x"}, exitUsage)
	if !strings.Contains(errs, "-bogus") {
		t.Errorf("stderr %q does not name the bad flag", errs)
	}
}

func TestListAndPlan(t *testing.T) {
	out, _ := wantCode(t, []string{"list"}, exitOK)
	for _, in := range scenarios.All() {
		if !strings.Contains(out, in.ID) || !strings.Contains(out, string(in.Runtime)) || !strings.Contains(out, oneLine(in.Title)) {
			t.Errorf("list lacks %s, its runtime or its title:\n%s", in.ID, out)
		}
	}
	_, errs := wantCode(t, []string{"list", "extra"}, exitUsage)
	if !strings.Contains(errs, `takes no arguments, got "extra"`) {
		t.Errorf("stderr %q", errs)
	}

	out, _ = wantCode(t, []string{"plan"}, exitOK)
	for _, in := range scenarios.All() {
		for _, v := range in.Variants {
			if !strings.Contains(out, in.ID+"/"+v.Name+" ") {
				t.Errorf("plan without id lacks %s/%s:\n%s", in.ID, v.Name, out)
			}
		}
	}
	wantCode(t, []string{"plan", ""}, exitOK) // make reproduce INCIDENT= may pass an empty word
	out, _ = wantCode(t, []string{"plan", "dockerd-kill-dstate", "-variant", "dstate-20-10-5"}, exitOK)
	// 20.10.5 runs with the containerd its release shipped with.
	if !strings.Contains(out, "dockerd-kill-dstate/dstate-20-10-5  dockerd-20.10.5/containerd-1.4.13  breach") || !strings.Contains(out, "1 run on 2 runtime builds (containerd-1.4.13 dockerd-20.10.5)") {
		t.Errorf("plan of a pinned variant:\n%s", out)
	}
	_, errs = wantCode(t, []string{"plan", "no-such-incident"}, exitUsage)
	if _, want := scenarios.All().ByID("no-such-incident"); want == nil || !strings.Contains(errs, want.Error()) {
		t.Errorf("plan of an unknown id: stderr %q, want the error %v", errs, want)
	}
	// Several incidents: each one's items, in the order named.
	out, _ = wantCode(t, []string{"plan", "dockerd-restore-hang", "containerd-huge-log-line"}, exitOK)
	if r, h := strings.Index(out, "dockerd-restore-hang/lock-held"), strings.Index(out, "containerd-huge-log-line/unlimited"); r < 0 || h < r || strings.Contains(out, "php-tmpfile-dentry") {
		t.Errorf("plan of two incidents:\n%s\nwant restore-hang's variants, then huge-log-line's, and nothing else", out)
	}
	_, errs = wantCode(t, []string{"plan", "containerd-huge-log-line", "containerd-huge-log-line"}, exitUsage)
	if !strings.Contains(errs, "containerd-huge-log-line is named twice") {
		t.Errorf("plan of one id twice: stderr %q", errs)
	}

	// A matrix: what runs on each build, and with what expectation.
	out, _ = wantCode(t, []string{"plan", "-runtimes", "dockerd-20.10.5 dockerd-20.10.24", "dockerd-kill-dstate"}, exitOK)
	for _, want := range []string{
		"dockerd-kill-dstate/dstate@dockerd-20.10.5  dockerd-20.10.5/containerd-1.4.13  breach",
		"dockerd-kill-dstate/dstate@dockerd-20.10.24  dockerd-20.10.24  hold",
		"dockerd-kill-dstate/control@dockerd-20.10.5",
		"6 runs on 3 runtime builds",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("plan -runtimes lacks %q:\n%s", want, out)
		}
	}
	_, errs = wantCode(t, []string{"plan", "-runtimes", "containerd-latest"}, exitUsage)
	if !strings.Contains(errs, `version "latest" is not a release number`) {
		t.Errorf("plan of a bad runtime: stderr %q", errs)
	}
	_, errs = wantCode(t, []string{"plan", "-runtimes", "dockerd-20.10.5", "containerd-huge-log-line"}, exitUsage)
	if !strings.Contains(errs, "nothing to run on dockerd-20.10.5") {
		t.Errorf("plan of an empty matrix: stderr %q", errs)
	}
	// -builds: only what must be built, on stdout alone.
	out, _ = wantCode(t, []string{"plan", "-builds", "-runtimes", "containerd-1.7.18,dockerd-20.10.5 containerd-2.0.14", "dockerd-kill-dstate"}, exitOK)
	if out != "containerd-1.4.13 dockerd-20.10.5\n" {
		t.Errorf("plan -builds = %q, want only the dockerd cell and its release's containerd", out)
	}
	out, _ = wantCode(t, []string{"plan", "-builds", "-variant", "control", "-runtimes", "dockerd-20.10.5 dockerd-20.10.24"}, exitOK)
	if out != "containerd-1.4.13 dockerd-20.10.5 dockerd-20.10.24\n" {
		t.Errorf("plan -builds -variant control = %q", out)
	}
	// A qualified cell needs each of its parts built; a dockerd brings its
	// release's containerd and runc. -cells lists the matrix's cells.
	qualified := []string{"-variant", "dstate", "-runtimes", "dockerd-28.5.2/containerd-2.3.5 dockerd-29.8.1", "dockerd-kill-dstate"}
	out, _ = wantCode(t, append([]string{"plan", "-builds"}, qualified...), exitOK)
	if out != "containerd-2.3.5 dockerd-28.5.2 dockerd-29.8.1 runc-1.3.6 runc-1.5.1\n" {
		t.Errorf("plan -builds of qualified cells = %q", out)
	}
	out, _ = wantCode(t, append([]string{"plan", "-cells"}, qualified...), exitOK)
	if out != "dockerd-28.5.2/containerd-2.3.5 dockerd-29.8.1\n" {
		t.Errorf("plan -cells = %q", out)
	}
	out, _ = wantCode(t, append([]string{"plan"}, qualified...), exitOK)
	if !strings.Contains(out, "dstate@dockerd-28.5.2/containerd-2.3.5  dockerd-28.5.2/containerd-2.3.5/runc-1.3.6") {
		t.Errorf("plan does not show a cell's pairing:\n%s", out)
	}
	out, _ = wantCode(t, []string{"plan", "-builds"}, exitOK)
	if want := pinnedBuilds(); out != want {
		t.Errorf("plan -builds of every incident = %q, want the pinned builds only, %q", out, want)
	}
	_, errs = wantCode(t, []string{"plan", "-variant", "sidecar", "dockerd-kill-dstate"}, exitUsage)
	if !strings.Contains(errs, `unknown variant "sidecar"`) {
		t.Errorf("plan of an unknown variant: stderr %q", errs)
	}
	out, _ = wantCode(t, []string{"plan", "-json", "containerd-huge-log-line"}, exitOK)
	for _, want := range []string{`"name": "containerd-huge-log-line/unlimited"`, `"expect": "breach"`, `"labels": [`} {
		if !strings.Contains(out, want) {
			t.Errorf("plan -json lacks %q:\n%s", want, out)
		}
	}
}

func TestPlanRegression(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("version = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RELAPSE_CONTAINERD_CONFIG", "")
	t.Setenv("RELAPSE_DOCKERD_CONFIG", "")
	out, _ := wantCode(t, []string{"plan", "-containerd-config", cfg}, exitOK)
	for _, want := range []string{
		"containerd-huge-log-line/default",
		"containerd with " + cfg,
		"not judged: dockerd-kill-dstate: runs on dockerd, and no dockerd configuration was given",
		"not judged: php-tmpfile-dentry: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan -containerd-config: %q lacks %q", out, want)
		}
	}
	_, errs := wantCode(t, []string{"plan", "-containerd-config", cfg, "dockerd-kill-dstate"}, exitUsage)
	if !strings.Contains(errs, "nothing to judge") {
		t.Errorf("regression plan of an unjudged incident: stderr %q", errs)
	}
	_, errs = wantCode(t, []string{"plan", "-containerd-config", filepath.Join(dir, "missing.toml")}, exitUsage)
	if !strings.Contains(errs, "missing.toml") {
		t.Errorf("regression plan with a missing config: stderr %q", errs)
	}
	// A shell that exports the variable does not turn a reproduction into
	// a judgement: only the flag does.
	t.Setenv("RELAPSE_CONTAINERD_CONFIG", cfg)
	out, _ = wantCode(t, []string{"plan", "containerd-huge-log-line"}, exitOK)
	if strings.Contains(out, cfg) || !strings.Contains(out, "containerd-huge-log-line/unlimited") {
		t.Errorf("plan with RELAPSE_CONTAINERD_CONFIG exported but no flag:\n%s", out)
	}
}

func TestTable(t *testing.T) {
	ok := writeRun(t, "ok", "1.7.17", 0)
	out, _ := wantCode(t, []string{"table", ok}, exitOK)
	if !strings.HasSuffix(out, "\n1 passed, 0 failed\n") || !strings.Contains(out, "containerd 1.7.17") {
		t.Errorf("table:\n%s", out)
	}
	bad := writeRun(t, "bad", "1.7.18", 50*mib)
	out, _ = wantCode(t, []string{"table", bad}, exitFail)
	if !strings.HasSuffix(out, "\n0 passed, 1 failed\n") {
		t.Errorf("table:\n%s", out)
	}

	// No results at all is a failure, and says so.
	w, err := results.Open(t.TempDir(), "empty", report.Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := wantCode(t, []string{"table", w.Dir()}, exitFail)
	for _, want := range []string{"holds no results", "incomplete"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}

	missing := filepath.Join(t.TempDir(), "nope")
	_, errs = wantCode(t, []string{"table", missing}, exitUsage)
	if !strings.Contains(errs, "no run directory "+missing) {
		t.Errorf("stderr %q", errs)
	}
	empty := t.TempDir()
	_, errs = wantCode(t, []string{"table", empty}, exitUsage)
	if !strings.Contains(errs, "has no summary.json") {
		t.Errorf("stderr %q", errs)
	}
	corrupt := t.TempDir()
	if err := os.WriteFile(filepath.Join(corrupt, results.SummaryFile), []byte(`{"id": "x", "results": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs = wantCode(t, []string{"table", corrupt}, exitUsage)
	if !strings.Contains(errs, "corrupt") || !strings.Contains(errs, results.SummaryFile) {
		t.Errorf("stderr %q", errs)
	}
	_, errs = wantCode(t, []string{"table"}, exitUsage)
	if !strings.Contains(errs, "takes one run directory") {
		t.Errorf("stderr %q", errs)
	}
}

func TestMetrics(t *testing.T) {
	dir := writeRun(t, "m", "1.7.17", 0)
	out, _ := wantCode(t, []string{"metrics", dir}, exitOK)
	if !strings.HasSuffix(out, "# EOF\n") || !strings.Contains(out, `relapse_verdict_ok{incident="containerd-huge-log-line",variant="default",runtime="containerd",version="1.7.17",metric="containerd_rss_bytes"} 1`) {
		t.Errorf("metrics:\n%s", out)
	}
	wantCode(t, []string{"metrics", filepath.Join(t.TempDir(), "nope")}, exitUsage)
}

func TestAB(t *testing.T) {
	base := writeRun(t, "base", "1.7.17", 0)
	worse := writeRun(t, "worse", "1.7.18", 50*mib)
	same := writeRun(t, "same", "1.7.18", 0)

	// Flags after the positional arguments, as people type them.
	out := filepath.Join(t.TempDir(), "ab")
	stdout, _ := wantCode(t, []string{"ab", base, worse, "-out", out}, exitFail)
	if !strings.Contains(stdout, "held on 1.7.17, breaches on 1.7.18") || !strings.Contains(stdout, "1 regressed, 1 compared") {
		t.Errorf("ab output:\n%s", stdout)
	}
	for _, f := range []string{report.CompareHTMLFile, report.CompareJSONFile, report.CompareTextFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("ab did not write %s: %v", f, err)
		}
	}

	// Default output directory: inside the candidate run.
	stdout, _ = wantCode(t, []string{"ab", base, same}, exitOK)
	if !strings.Contains(stdout, "0 regressed, 1 compared") {
		t.Errorf("ab output:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(same, "ab-base", report.CompareHTMLFile)); err != nil {
		t.Errorf("default output: %v", err)
	}

	// Version filters name what is missing.
	_, errs := wantCode(t, []string{"ab", "-base-version", "9.9.9", base, same}, exitUsage)
	if !strings.Contains(errs, `no results of version "9.9.9"`) || !strings.Contains(errs, "1.7.17") {
		t.Errorf("stderr %q", errs)
	}
	wantCode(t, []string{"ab", "-base-version", "1.7.17", "-candidate-version", "1.7.18", base, worse, "-out", t.TempDir()}, exitFail)

	_, errs = wantCode(t, []string{"ab", base}, exitUsage)
	if !strings.Contains(errs, "BASE and CANDIDATE, got 1") {
		t.Errorf("stderr %q", errs)
	}
	_, errs = wantCode(t, []string{"ab", filepath.Join(t.TempDir(), "gone"), same}, exitUsage)
	if !strings.Contains(errs, "base: no run directory") {
		t.Errorf("stderr %q", errs)
	}
}

func TestABNothingInCommonFails(t *testing.T) {
	base := writeRun(t, "base", "1.7.17", 0)
	w, err := results.Open(t.TempDir(), "other", report.Renderer{})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := wantCode(t, []string{"ab", base, w.Dir(), "-out", t.TempDir()}, exitFail)
	if !strings.Contains(errs, "nothing compared") {
		t.Errorf("stderr %q", errs)
	}
}

// pinnedBuilds is every build a variant of the catalog pins, sorted as
// cells are, one line: what a plan of every incident must build, and no
// more (an unpinned variant runs on the binary on PATH).
func pinnedBuilds() string {
	seen := map[string]bool{}
	var cells []string
	for _, in := range scenarios.All() {
		for _, v := range in.Variants {
			if v.Sandbox.Version == "" {
				continue
			}
			// A pinned dockerd brings its release's containerd and runc.
			p := engine.Companions(in.RuntimeOf(v), v.Sandbox.Version)
			for _, c := range []string{string(in.RuntimeOf(v)) + "-" + v.Sandbox.Version, "containerd-" + p.Containerd, "runc-" + p.Runc} {
				if !seen[c] && !strings.HasSuffix(c, "-") {
					seen[c] = true
					cells = append(cells, c)
				}
			}
		}
	}
	slices.SortFunc(cells, engine.CompareCells)
	return strings.Join(cells, " ") + "\n"
}
