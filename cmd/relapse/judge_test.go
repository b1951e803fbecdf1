package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

func TestJudgeAsRecordedAndUnderOtherRules(t *testing.T) {
	flat := writeRunWith(t, curve.RulesV1, "flat", "1.6.20", 0)
	out, _ := wantCode(t, []string{"judge", flat}, exitOK)
	if !strings.Contains(out, "hold, as recorded") || !strings.Contains(out, "1 results judged again, 0 differences") {
		t.Errorf("judge as recorded:\n%s", out)
	}
	out, _ = wantCode(t, []string{"judge", "-rules", "v2", flat}, exitOK)
	if !strings.Contains(out, "hold under v2 too") {
		t.Errorf("a flat series holds under v2 too:\n%s", out)
	}

	// 0.998 MiB/s against a 1 MiB/s budget over 20 s: v1 calls the point
	// estimate a hold, v2 says the data cannot tell and by how much more.
	near := writeRunWith(t, curve.RulesV1, "near", "1.6.20", 0.998*mib)
	wantCode(t, []string{"judge", near}, exitOK)
	out, _ = wantCode(t, []string{"judge", "-rules", "v2", near}, exitFail)
	for _, want := range []string{"CHANGES: inconclusive under v2, recorded hold under v1 (expected hold)", "the interval straddles the budget", "would decide it", "1 differences"} {
		if !strings.Contains(out, want) {
			t.Errorf("judge -rules v2 of a near-budget hold lacks %q:\n%s", want, out)
		}
	}

	_, errs := wantCode(t, []string{"judge", "-rules", "v9", flat}, exitUsage)
	if !strings.Contains(errs, `unknown verdict rules "v9"`) {
		t.Errorf("bad rules: %s", errs)
	}
}

func TestCalibrateWritesItsReport(t *testing.T) {
	run := writeRun(t, "flat", "1.6.20", 0)
	dir := filepath.Join(t.TempDir(), "cal")
	out, errs := wantCode(t, []string{"calibrate", "-replays", "2", "-multiples", "0,2", "-out", dir, run}, exitOK)
	if !strings.Contains(errs, "1 real hold series") || !strings.Contains(out, "| v2 | real |") {
		t.Errorf("calibrate with a real run:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	for _, f := range []string{"calibration.md", "calibration.json", "power.svg", "time.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report file: %v", err)
		}
	}
	_, errs = wantCode(t, []string{"calibrate", "-noises", "ar1-0,pink"}, exitUsage)
	if !strings.Contains(errs, `no noise "pink"`) {
		t.Errorf("bad noise: %s", errs)
	}
	_, errs = wantCode(t, []string{"calibrate", "-noises", "none"}, exitUsage)
	if !strings.Contains(errs, "nothing to replay") {
		t.Errorf("nothing to replay: %s", errs)
	}
	_, errs = wantCode(t, []string{"calibrate", "-multiples", "0,x"}, exitUsage)
	if !strings.Contains(errs, `"x" is not a non-negative number`) {
		t.Errorf("bad multiples: %s", errs)
	}
}
