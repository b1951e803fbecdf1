package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed summary the README's track record is made from, and the
// README itself, relative to this package.
const (
	trackSummaryDir = "../../docs/track-record"
	readmePath      = "../../README.md"
)

// The README's track record is what `relapse track-record` renders from the
// committed summary and the incidents' data: a changed summary, Affected or
// Fixed text fails here until `make track-record` rewrites the table.
func TestReadmeTrackRecordIsGeneratedFromTheCommittedSummary(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _, err := trackSection(readme)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	want, errs := wantCode(t, []string{"track-record", trackSummaryDir}, exitOK)
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}
	if got := string(body); got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("README.md's track record is not what `relapse track-record docs/track-record` renders; run `make track-record`.\nfirst difference, line %d of the table:\nREADME: %s\nrender: %s", i+1, g, w)
			}
		}
	}
	if !strings.Contains(want, "newest build measured") {
		t.Errorf("the track record does not name the newest build measured:\n%s", want)
	}
}

func TestTrackRecordRewritesOnlyBetweenTheMarkers(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "README.md")
	before, after := "# title\n\n## Track record\n\n", "\n## The CLI\n"
	if err := os.WriteFile(readme, []byte(before+trackBegin+"stale table\n"+trackEnd+after), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, []string{"track-record", "-readme", readme, trackSummaryDir}, exitOK)
	got, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	table, _ := wantCode(t, []string{"track-record", trackSummaryDir}, exitOK)
	if want := before + trackBegin + table + trackEnd + after; string(got) != want {
		t.Errorf("rewritten README:\n%s\nwant:\n%s", got, want)
	}

	if err := os.WriteFile(readme, []byte("# no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs := wantCode(t, []string{"track-record", "-readme", readme, trackSummaryDir}, exitUsage)
	if !strings.Contains(errs, "no track-record markers") || !strings.Contains(errs, trackEnd) {
		t.Errorf("README without markers: %s", errs)
	}
	_, errs = wantCode(t, []string{"track-record"}, exitUsage)
	if !strings.Contains(errs, "takes one run directory") {
		t.Errorf("no directory: %s", errs)
	}
}
