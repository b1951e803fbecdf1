package results

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Walls are how long items took in all (Result.WallS), by Result.Name, as
// recorded by recent runs: what a run with several jobs orders its items
// by, longest first, so that no process is left running a long item alone
// at the end. An item no recent run recorded is absent.
type Walls map[string]time.Duration

// RecentWalls reads the newest runs under root (at most newest of them, by
// their summary's modification time) and keeps, for each item, the wall
// time of the newest run that recorded one. A root that does not exist yet
// has none. A run whose summary cannot be read is skipped, and named in
// the error returned beside the walls the others gave: a damaged old run
// must not stop a new one.
func RecentWalls(root string, newest int) (Walls, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return Walls{}, nil
	}
	if err != nil {
		return Walls{}, fmt.Errorf("results: reading past runs in %s: %w", root, err)
	}
	type summary struct {
		dir string
		mod time.Time
	}
	var runs []summary
	for _, e := range entries {
		// latest is a link to one of the others; .parts and other dot
		// directories are unfinished.
		if !e.IsDir() || e.Name() == LatestLink || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		fi, err := os.Stat(filepath.Join(dir, SummaryFile))
		if err != nil {
			continue
		}
		runs = append(runs, summary{dir, fi.ModTime()})
	}
	slices.SortFunc(runs, func(a, b summary) int { return cmp.Compare(b.mod.UnixNano(), a.mod.UnixNano()) })
	walls := Walls{}
	var errs []error
	for _, r := range runs[:min(newest, len(runs))] {
		run, err := Load(r.dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, res := range run.Results {
			if _, seen := walls[res.Name()]; !seen && res.WallS > 0 {
				walls[res.Name()] = time.Duration(res.WallS * float64(time.Second))
			}
		}
	}
	return walls, errors.Join(errs...)
}
