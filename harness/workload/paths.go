package workload

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FindRepoRoot walks up from dir to the directory holding go.mod, so image
// sources under images/ are found from any package's test directory.
func FindRepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repo root from %s: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		_, err := os.Stat(filepath.Join(d, "go.mod"))
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("repo root from %s: %w", abs, err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("repo root: no go.mod in %s or any parent: run from inside the relapse checkout", abs)
		}
	}
}
