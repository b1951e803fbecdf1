// Package nightly_test runs what a nightly runtime-upgrade check runs, the
// way a user runs it: `make matrix`, `relapse ab` and `make regression`, in
// child processes, against real runtimes. It asserts what the commands
// promise: one report for every runtime build, an A/B that shows a fix and
// exits non-zero on a regression, and a regression run that fails on a bad
// configuration with a message naming incident, budget, slope and
// diagnostics.
package nightly_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/workload"
)

// The containerd builds the huge-log-line matrix covers: the machine's
// package, two built from the module proxy, and Debian forky's package
// with its own shim (scripts/fetch-deb.sh). The proxy builds are ones the
// incident suite pins anyway (the ExecSync drain leak's fixed releases), so
// the matrix costs make test no build of its own.
const containerdMatrix = "containerd-1.6.20 containerd-1.7.35 containerd-2.1.9 containerd-2.3.5"

// relapse is the CLI, built once: `go run` would turn its exit codes 1
// (regressed) and 2 (bad input) into 1.
var relapse string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "relapse-nightly-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		relapse = filepath.Join(dir, "relapse")
		root, err := workload.FindRepoRoot(".")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		build := exec.Command("go", "build", "-o", relapse, "./cmd/relapse")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building relapse: %v\n", err)
			return 2
		}
		return m.Run()
	}())
}

// TestHugeLogLineMatrixOneReport: one command runs the incident on four
// containerd versions into one report, every variant ok, and an A/B of two
// of its cells renders and passes (nothing regressed between them).
func TestHugeLogLineMatrixOneReport(t *testing.T) {
	results := t.TempDir()
	out, code := run(t, 15*time.Minute, "make", "matrix", "INCIDENT=containerd-huge-log-line",
		"RUNTIMES="+containerdMatrix, "RESULTS="+results)
	if code != 0 {
		t.Fatalf("make matrix exited %d:\n%s", code, tail(out))
	}
	dir, r := latest(t, results)
	cells := map[string][]string{}
	for _, res := range r.Results {
		if !res.OK {
			t.Errorf("%s: %s, expected %s (%s)", res.Name(), res.Verdict, res.Expect, res.Error)
		}
		if c, err := engine.ParseCell(res.Cell); err != nil || c.Version != res.Version {
			t.Errorf("%s ran on %s %s, not on its cell's build", res.Name(), res.Runtime, res.Version)
		}
		cells[res.Cell] = append(cells[res.Cell], res.Variant)
	}
	for _, c := range strings.Fields(containerdMatrix) {
		if got := strings.Join(cells[c], ","); got != "default,unlimited" {
			t.Errorf("cell %s has variants %q, want default,unlimited", c, got)
		}
	}
	if want := 2 * len(strings.Fields(containerdMatrix)); len(r.Results) != want {
		t.Errorf("%d results in the matrix report, want %d", len(r.Results), want)
	}
	// The Debian build ran its own package's shim.
	for _, res := range r.Results {
		if shim := res.Components["containerd-shim-runc-v2"]; res.Cell == "containerd-2.1.9" && !strings.Contains(shim.Path, "/runtimes/containerd-2.1.9/") {
			t.Errorf("%s ran the shim %+v, not Debian's containerd 2.1.9 package's", res.Name(), shim)
		}
	}

	abDir := filepath.Join(t.TempDir(), "ab")
	out, code = run(t, time.Minute, relapse, "ab", dir, dir,
		"-base-version", "1.6.20", "-candidate-version", "2.3.5", "-out", abDir)
	if code != 0 {
		t.Fatalf("relapse ab of two cells exited %d:\n%s", code, out)
	}
	for _, want := range []string{"breaches on both (1.6.20, 2.3.5)", "holds on both (1.6.20, 2.3.5)"} {
		if !strings.Contains(out, want) {
			t.Errorf("A/B table lacks %q:\n%s", want, out)
		}
	}
	mustExist(t, filepath.Join(abDir, report.CompareHTMLFile))
}

// TestRegressionModeJudgesTheUsersConfig: 16384 passes, -1 fails saying
// what grew and how fast, and an A/B with -1 as the candidate exits
// non-zero while the reverse (the fix) exits zero. Under the default rules
// (v3) the -1 run stops at its first certain breach, the growth past
// 16 MiB within 2 s, before the 12 s window v3 bounds a slope on: the
// slope is reported as measured, without an interval.
func TestRegressionModeJudgesTheUsersConfig(t *testing.T) {
	results := t.TempDir()
	regression(t, results, "good", "containerd-16384.toml", 0)
	out := regression(t, results, "bad", "containerd-unlimited.toml", 2)
	for _, want := range []string{
		"containerd-huge-log-line came back on your containerd",
		"examples/configs/containerd-unlimited.toml",
		"breach containerd_rss_bytes growth ≤ +16 MiB: measured ",
		"containerd_rss_bytes slope ≤ 1 MiB/s after 1 s warm-up: measured ",
		"diagnostics: " + filepath.Join(results, "bad", "containerd-huge-log-line", "default", "diagnostics"),
		"containerd-goroutines.txt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the failing regression run does not say %q:\n%s", want, tail(out))
		}
	}

	ab := func(base, cand string, want int) string {
		t.Helper()
		out, code := run(t, time.Minute, relapse, "ab",
			filepath.Join(results, base), filepath.Join(results, cand), "-out", filepath.Join(t.TempDir(), "ab"))
		if code != want {
			t.Errorf("relapse ab %s %s exited %d, want %d:\n%s", base, cand, code, want, out)
		}
		return out
	}
	if out := ab("good", "bad", 1); !strings.Contains(out, "held on base, breaches on candidate") || !strings.Contains(out, "1 regressed") {
		t.Errorf("A/B with -1 as the candidate does not show the regression:\n%s", out)
	}
	ab("bad", "good", 0)
}

// TestKillLoopFixInAB: the kill loop's per-call leak on dockerd 20.10.5 and
// its fix on 20.10.24, side by side in one matrix report and one A/B, both
// curves on one chart; going back to 20.10.5 is a regression.
func TestKillLoopFixInAB(t *testing.T) {
	results := t.TempDir()
	out, code := run(t, 12*time.Minute, "make", "matrix", "INCIDENT=dockerd-kill-dstate", "VARIANT=dstate",
		"RUNTIMES=dockerd-20.10.5 dockerd-20.10.24", "RESULTS="+results)
	if code != 0 {
		t.Fatalf("make matrix exited %d:\n%s", code, tail(out))
	}
	// make matrix runs JOBS (2) at once: the two builds' kill loops ran
	// side by side, each on its own dockerd, into one run.
	if !strings.Contains(out, "2 runs in 2 processes at once") {
		t.Errorf("make matrix did not run the two builds side by side:\n%s", tail(out))
	}
	dir, r := latest(t, results)
	verdicts := map[string]string{}
	for _, res := range r.Results {
		verdicts[res.Version] = res.Verdict
	}
	if verdicts["20.10.5"] != string(curve.Breach) || verdicts["20.10.24"] != string(curve.Hold) {
		t.Fatalf("dstate verdicts by version %v, want a breach on 20.10.5 and a hold on 20.10.24", verdicts)
	}

	abDir := filepath.Join(t.TempDir(), "ab")
	out, code = run(t, time.Minute, relapse, "ab", dir, dir,
		"-base-version", "20.10.5", "-candidate-version", "20.10.24", "-out", abDir)
	if code != 0 {
		t.Fatalf("relapse ab 20.10.5 -> 20.10.24 exited %d (the fix is no regression):\n%s", code, out)
	}
	for _, want := range []string{"breached on 20.10.5, holds on 20.10.24", "dockerd_goroutines", "dockerd_fds"} {
		if !strings.Contains(out, want) {
			t.Errorf("A/B table lacks %q:\n%s", want, out)
		}
	}
	charts, _ := filepath.Glob(filepath.Join(abDir, "charts", "*goroutines*.svg"))
	if len(charts) == 0 {
		t.Fatalf("no overlaid goroutine chart in %s", abDir)
	}
	svg, err := os.ReadFile(charts[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"20.10.5", "20.10.24"} {
		if !bytes.Contains(svg, []byte(v)) {
			t.Errorf("chart %s has no curve labelled %s", charts[0], v)
		}
	}

	_, code = run(t, time.Minute, relapse, "ab", dir, dir,
		"-base-version", "20.10.24", "-candidate-version", "20.10.5", "-out", filepath.Join(t.TempDir(), "ab"))
	if code != 1 {
		t.Errorf("relapse ab 20.10.24 -> 20.10.5 exited %d, want 1: going back before the fix regresses", code)
	}
}

// regression runs `make regression` on one of examples/configs into
// results/<id> and checks its exit code (0, or any failure for want != 0).
func regression(t *testing.T, results, id, config string, want int) string {
	t.Helper()
	out, code := run(t, 5*time.Minute, "make", "regression", "INCIDENT=containerd-huge-log-line",
		"CONTAINERD_CONFIG="+filepath.Join(repo(t), "examples", "configs", config), "RESULTS="+results, "RELAPSE_RUN_ID="+id)
	if (want == 0) != (code == 0) {
		t.Fatalf("make regression with %s exited %d, want %s:\n%s", config, code, map[bool]string{true: "0", false: "a failure"}[want == 0], tail(out))
	}
	return out
}

// run runs a command in the repository, in its own process group, with a
// clean make environment (a parent `make test`'s flags and variables must
// not leak into the child), and returns its combined output and exit code.
// Past timeout the whole group gets Ctrl-C, as a user would give it (the
// harness then cleans up), and SIGKILL if it is still there a minute on.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, int) {
	t.Helper()
	if dl, ok := t.Deadline(); ok && time.Until(dl)-2*time.Minute < timeout {
		timeout = time.Until(dl) - 2*time.Minute
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = repo(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !inherited[k] && !strings.HasPrefix(k, "RELAPSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// The harness' own settings that describe this machine, not this run.
	for _, k := range []string{"RELAPSE_CACHE", "RELAPSE_BUILD_JOBS", "RELAPSE_CTR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t.Logf("running %s %s", name, strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		t.Fatalf("%s %s still running after %s; interrupted:\n%s", name, strings.Join(args, " "), timeout, tail(buf.String()))
	}
	t.Logf("%s %s: %s", name, args[0], time.Since(start).Round(time.Second))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return buf.String(), 0
	case errors.As(err, &exit):
		return buf.String(), exit.ExitCode()
	}
	t.Fatalf("%s: %v", name, err)
	return "", -1
}

// inherited lists what a child must not inherit from a `make test` that
// runs this package: make's own state and the Makefile's knobs, which the
// child gets from its own command line or not at all. RELAPSE_* is dropped
// too, except the machine-wide settings run copies back.
var inherited = map[string]bool{
	"MAKEFLAGS": true, "MFLAGS": true, "MAKELEVEL": true, "MAKEOVERRIDES": true,
	"INCIDENT": true, "RUNTIMES": true, "VARIANT": true, "RESULTS": true, "LABELS": true, "FOCUS": true,
	"GINKGO_FLAGS": true, "JOBS": true, "CONTAINERD_CONFIG": true, "DOCKERD_CONFIG": true,
}

// latest loads the run results/latest points at.
func latest(t *testing.T, resultsDir string) (string, results.Run) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(filepath.Join(resultsDir, results.LatestLink))
	if err != nil {
		t.Fatalf("no results/latest: %v", err)
	}
	r, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func repo(t *testing.T) string {
	t.Helper()
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func mustExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}

// tail keeps the end of a long output, where make and Ginkgo summarise.
func tail(s string) string {
	const n = 6000
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}
