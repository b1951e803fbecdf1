package results

import (
	"fmt"
	"time"
)

// Superseded is one result that a newer run measured again: Dropped is
// the run whose copy was left out, Kept the run whose copy stays.
type Superseded struct {
	Name          string
	Kept, Dropped string
}

// String reads like "log/default@containerd-1.6.20: run b replaces run a".
func (s Superseded) String() string {
	return fmt.Sprintf("%s: run %s replaces run %s", s.Name, s.Kept, s.Dropped)
}

// Supersede keeps, of each result measured in more than one run (the same
// incident, variant and cell), only the newest copy, so that re-running an
// item (one that failed for a reason outside the runtime, or whose
// evidence needs a second look) replaces it in a merged report instead of
// standing beside it. Newest is the result's own start, or its run's when
// the result has none; of equal starts, the run given later wins. The runs
// come back in their order, each without the copies it lost, together
// with one entry per replaced copy.
func Supersede(runs []Run) ([]Run, []Superseded) {
	type copyOf struct {
		run     int
		started time.Time
	}
	newest := map[string]copyOf{}
	for i, run := range runs {
		for _, r := range run.Results {
			c := copyOf{run: i, started: r.Started}
			if c.started.IsZero() {
				c.started = run.Started
			}
			if prev, ok := newest[r.Name()]; !ok || !c.started.Before(prev.started) {
				newest[r.Name()] = c
			}
		}
	}
	var dropped []Superseded
	out := make([]Run, len(runs))
	for i, run := range runs {
		kept := make([]Result, 0, len(run.Results))
		for _, r := range run.Results {
			if n := newest[r.Name()]; n.run != i {
				dropped = append(dropped, Superseded{Name: r.Name(), Kept: runs[n.run].ID, Dropped: run.ID})
				continue
			}
			kept = append(kept, r)
		}
		run.Results = kept
		out[i] = run
	}
	return out, dropped
}
