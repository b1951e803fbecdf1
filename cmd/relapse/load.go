package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/results"
)

// loadRun reads the run in dir, with an error that says which of the usual
// causes it is: no such directory, no summary (the suite never wrote one),
// or a summary that does not parse.
func loadRun(dir string) (results.Run, error) {
	if dir == "" {
		return results.Run{}, errors.New("run directory is empty: pass results/<run id> or results/latest")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return results.Run{}, fmt.Errorf("no run directory %s: has a suite run yet? (`make reproduce` writes results/latest)", dir)
	case err != nil:
		return results.Run{}, fmt.Errorf("run directory %s: %w", dir, err)
	case !fi.IsDir():
		return results.Run{}, fmt.Errorf("%s is not a directory: pass a run directory (results/<run id>), not a file in it", dir)
	}
	summary := filepath.Join(dir, results.SummaryFile)
	if _, err := os.Stat(summary); errors.Is(err, fs.ErrNotExist) {
		return results.Run{}, fmt.Errorf("%s has no %s: not a relapse run directory, or the suite stopped before writing any result (see its output above)", dir, results.SummaryFile)
	}
	run, err := results.Load(dir)
	if err != nil {
		return results.Run{}, fmt.Errorf("%s is unreadable or corrupt (%w); rerun the suite or restore the file", summary, err)
	}
	return run, nil
}
