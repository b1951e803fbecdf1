package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRecentWalls: each item's wall time comes from the newest run that
// timed it; runs past the newest n, the latest link, unfinished parts and
// results without a wall time (recorded before there was one) give none,
// and a damaged run is named but does not hide the others.
func TestRecentWalls(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	write := func(id string, age time.Duration, rs ...Result) {
		t.Helper()
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, SummaryFile)
		if err := WriteJSON(path, Run{ID: id, Results: rs}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	res := func(variant string, wall float64) Result {
		return Result{Incident: "inc", Variant: variant, WallS: wall}
	}
	write("old", 3*time.Hour, res("a", 10), res("b", 20), res("c", 30))
	write("mid", 2*time.Hour, res("a", 11), res("b", 0))
	write("new", time.Hour, res("a", 12))
	write(".parts", 0, res("a", 99))
	if err := os.Symlink("new", filepath.Join(root, LatestLink)); err != nil {
		t.Fatal(err)
	}
	walls, err := RecentWalls(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := Walls{"inc/a": 12 * time.Second, "inc/b": 20 * time.Second, "inc/c": 30 * time.Second}
	if len(walls) != len(want) {
		t.Errorf("walls %v, want %v", walls, want)
	}
	for k, v := range want {
		if walls[k] != v {
			t.Errorf("%s: %v, want %v (the newest run that timed it)", k, walls[k], v)
		}
	}
	if walls, _ := RecentWalls(root, 2); walls["inc/c"] != 0 || walls["inc/a"] != 12*time.Second {
		t.Errorf("newest 2 runs: %v, want inc/a from new and nothing of old's inc/c", walls)
	}

	if err := os.WriteFile(filepath.Join(root, "mid", SummaryFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	walls, err = RecentWalls(root, 3)
	if err == nil || !strings.Contains(err.Error(), "mid") {
		t.Errorf("damaged run: error %v, want one naming mid", err)
	}
	if walls["inc/a"] != 12*time.Second || walls["inc/b"] != 20*time.Second {
		t.Errorf("beside a damaged run: %v, want the others' walls", walls)
	}

	if walls, err := RecentWalls(filepath.Join(root, "none"), 3); err != nil || len(walls) != 0 {
		t.Errorf("no results directory yet: %v, %v; want no walls and no error", walls, err)
	}
}
