package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Merge joins runs measured apart into one run with the given id, the run
// one process measuring them all would have written: the nightly fans a
// matrix out as one job per cell, and its report is one run again. Results
// keep their order (incident, variant, cell); Started is the earliest
// start and Finished the latest finish, or zero when any run is
// incomplete. A result measured twice (the same incident, variant and
// cell) is an error, and so are runs from machines of another kernel or
// cgroup version, whose memory verdicts do not compare; of machines that
// differ only in size, the smallest is recorded.
func Merge(id string, runs []Run) (Run, error) {
	if len(runs) == 0 {
		return Run{}, errors.New("results: merge: no runs given")
	}
	if err := checkName("run id", id); err != nil {
		return Run{}, fmt.Errorf("results: merge: %w", err)
	}
	out := Run{ID: id, Started: runs[0].Started, Finished: runs[0].Finished, Host: runs[0].Host, Results: []Result{}}
	from := map[string]string{} // result name -> run id
	for _, run := range runs {
		h := run.Host
		if h.Kernel != out.Host.Kernel || h.CgroupVersion != out.Host.CgroupVersion {
			return Run{}, fmt.Errorf("results: merge: run %s measured kernel %s with cgroup %s, run %s kernel %s with cgroup %s: memory verdicts of different kernels do not belong in one report; merge each kind of machine apart",
				runs[0].ID, out.Host.Kernel, out.Host.CgroupVersion, run.ID, h.Kernel, h.CgroupVersion)
		}
		if h.Hostname != out.Host.Hostname {
			out.Host.Hostname = ""
		}
		out.Host.CPUs = min(out.Host.CPUs, h.CPUs)
		out.Host.MemTotal = min(out.Host.MemTotal, h.MemTotal)
		if run.Started.Before(out.Started) {
			out.Started = run.Started
		}
		switch {
		case out.Finished.IsZero() || run.Finished.IsZero():
			out.Finished = time.Time{}
		case run.Finished.After(out.Finished):
			out.Finished = run.Finished
		}
		for _, r := range run.Results {
			if other, dup := from[r.Name()]; dup {
				return Run{}, fmt.Errorf("results: merge: %s is in run %s and in run %s: merge takes each result once (one run per cell); to let a re-run replace the result it repeats, supersede (relapse merge -supersede)", r.Name(), other, run.ID)
			}
			from[r.Name()] = run.ID
			out.Results = append(out.Results, r)
		}
	}
	sortResults(out.Results)
	return out, nil
}

// MergeDirs merges the runs in dirs into the new run directory out (its
// base name is the run id): each result's directory (series, charts,
// diagnostics) is copied, then summary.json is written and r (nil: none)
// draws the run's pages, so out is what one matrix run over all the cells
// leaves behind. With supersede, a result several runs hold is taken from
// the newest (see Supersede), and the replaced copies are returned.
func MergeDirs(out string, dirs []string, r Renderer, supersede bool) (Run, []Superseded, error) {
	runs := make([]Run, 0, len(dirs))
	for _, dir := range dirs {
		run, err := Load(dir)
		if err != nil {
			return Run{}, nil, err
		}
		runs = append(runs, run)
	}
	var replaced []Superseded
	if supersede {
		runs, replaced = Supersede(runs)
	}
	merged, err := merge(out, dirs, runs, r)
	return merged, replaced, err
}

// merge writes the merged run of runs, loaded from dirs, into out.
func merge(out string, dirs []string, runs []Run, r Renderer) (Run, error) {
	merged, err := Merge(filepath.Base(filepath.Clean(out)), runs)
	if err != nil {
		return Run{}, err
	}
	if _, err := os.Stat(filepath.Join(out, SummaryFile)); err == nil {
		return Run{}, fmt.Errorf("results: merge: %s already holds a run: choose a new directory", out)
	}
	for i, run := range runs {
		for _, res := range run.Results {
			rel := filepath.Join(res.Incident, VariantDirName(res.Variant, res.Cell))
			src, dst := filepath.Join(dirs[i], rel), filepath.Join(out, rel)
			if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
				return Run{}, fmt.Errorf("results: merge: run %s lists %s but %s is missing: pass whole run directories", run.ID, res.Name(), src)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return Run{}, fmt.Errorf("results: merge: %w", err)
			}
			if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return Run{}, fmt.Errorf("results: merge: %s exists already: merge into a new directory", dst)
				}
				return Run{}, fmt.Errorf("results: merge: copy %s: %w", res.Name(), err)
			}
		}
	}
	if err := WriteJSON(filepath.Join(out, SummaryFile), merged); err != nil {
		return Run{}, fmt.Errorf("results: merge: %w", err)
	}
	if r != nil {
		if err := r.Run(out, merged); err != nil {
			return Run{}, fmt.Errorf("results: merge: render: %w", err)
		}
	}
	return merged, nil
}
