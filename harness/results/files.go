package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File names inside a results directory.
const (
	SummaryFile     = "summary.json"
	ResultFile      = "result.json" // per variant, next to its series
	LatestLink      = "latest"
	runIDTimeLayout = "20060102T150405Z"
)

// Load reads a run's summary.json back from its directory (results/<id> or
// results/latest).
func Load(dir string) (Run, error) {
	return readJSON(filepath.Join(dir, SummaryFile), "run", func(r Run) string {
		if r.ID == "" {
			return "no run id: not a relapse summary"
		}
		return ""
	})
}

// readJSON decodes the file at path as a T. invalid says why a decoded
// value is not a T after all (JSON decodes any object into any struct), or
// "" when it is.
func readJSON[T any](path, what string, invalid func(T) string) (T, error) {
	var v T
	b, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("results: load %s: %w", what, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("results: load %s %s: %w", what, path, err)
	}
	if why := invalid(v); why != "" {
		return v, fmt.Errorf("results: load %s %s: %s", what, path, why)
	}
	return v, nil
}

// WriteJSON writes v indented, atomically (see WriteFile).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFile(path, append(b, '\n'))
}

// WriteFile writes b to path through a temp file and a rename, so a reader
// (a browser refreshing index.html, CI picking up summary.json) never sees
// half a file.
func WriteFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// pointLatest makes root/latest a relative symlink to id, replacing the old
// link atomically (a reader never sees it missing).
func pointLatest(root, id string) error {
	link := filepath.Join(root, LatestLink)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("results: %s is not a symlink; move it away so it can point at the newest run", link)
	}
	tmp := filepath.Join(root, fmt.Sprintf(".%s.%d.tmp", LatestLink, os.Getpid()))
	_ = os.Remove(tmp) // a leftover of a killed process with our pid
	if err := os.Symlink(id, tmp); err != nil {
		return fmt.Errorf("results: link latest: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("results: link latest: %w", err)
	}
	return nil
}
