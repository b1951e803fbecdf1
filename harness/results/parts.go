package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// PartsDir is where the processes of one run measured in parallel record,
// each into a run of its own (<run>/.parts/<part>), until MergeParts joins
// them into <run> itself.
const PartsDir = ".parts"

// Claim makes the directory of a run that parts will be merged into and
// returns it: results/<runID>, or results/<UTC time> for an empty runID,
// with Open's rules (a run id is one path element, and a directory that
// already holds a summary is never reused).
func Claim(resultsDir, runID string) (string, error) {
	if resultsDir == "" {
		return "", errors.New("results: results directory is empty: pass the repository's results/ directory")
	}
	root, err := filepath.Abs(resultsDir)
	if err != nil {
		return "", fmt.Errorf("results: results directory %q: %w", resultsDir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	id, err := claimRunDir(root, runID, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return filepath.Join(root, id), nil
}

// MergeParts merges every part recorded under dir/.parts (the ones with a
// summary; a process that died before opening its store left none) into
// dir, points results/latest at it and removes the parts. The merged run
// is what one process running every item would have recorded. On error
// the parts stay for a look (and `relapse merge` can join them by hand).
func MergeParts(dir string, r Renderer) (Run, error) {
	parts := filepath.Join(dir, PartsDir)
	entries, err := os.ReadDir(parts)
	if err != nil {
		return Run{}, fmt.Errorf("results: parts of run %s: %w", dir, err)
	}
	var dirs []string
	for _, e := range entries {
		p := filepath.Join(parts, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(p, SummaryFile)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		dirs = append(dirs, p)
	}
	if len(dirs) == 0 {
		return Run{}, fmt.Errorf("results: no part of run %s recorded a summary (in %s)", dir, parts)
	}
	slices.Sort(dirs)
	run, _, err := MergeDirs(dir, dirs, r, false)
	if err != nil {
		return Run{}, err
	}
	if err := pointLatest(filepath.Dir(dir), run.ID); err != nil {
		return Run{}, err
	}
	if err := os.RemoveAll(parts); err != nil {
		return Run{}, fmt.Errorf("results: removing the merged parts: %w", err)
	}
	return run, nil
}
