package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
)

// childWaitDelay bounds how long a live child may take to clean up after
// it was told to stop (its sandbox and leaker go with it) before it is
// killed.
const childWaitDelay = 3 * time.Minute

// liveShares splits runs per leak size across jobs: as even as it goes,
// the first ones taking the remainder, none empty.
func liveShares(runs, jobs int) []int {
	jobs = max(1, min(jobs, runs))
	shares := make([]int, jobs)
	for k := range shares {
		shares[k] = runs / jobs
		if k < runs%jobs {
			shares[k]++
		}
	}
	return shares
}

// runLiveJobs runs opts' live runs in len(shares) relapse processes at
// once, each with its share of runs per leak size on a private dockerd of
// its own, recorded under run ids base-j1, base-j2, ... It returns the run
// directories they recorded and whether every one ran to its end.
//
// They are processes, not goroutines: an engine runs one item at a time and
// its dockerd sandboxes listen on one socket per process. A live run is
// mostly waiting (its ops are paced at 20 a second), so on two cores six at
// once take the same 30 s each as one alone; the other runs' load is part of
// each run's noise, which only makes a false breach likelier.
func runLiveJobs(ctx context.Context, opts liveOptions, shares []int, stderr io.Writer) ([]string, bool) {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "relapse calibrate: -jobs: finding relapse's own binary: %v\n", err)
		return nil, false
	}
	base := time.Now().UTC().Format("20060102T150405Z")
	var out sync.Mutex // one child's line at a time on stderr
	var wg sync.WaitGroup
	dirs := make([]string, len(shares))
	oks := make([]bool, len(shares))
	for k, n := range shares {
		id := fmt.Sprintf("%s-j%d", base, k+1)
		args := []string{"calibrate", "-live", strconv.Itoa(n), "-multiples", joinFloats(opts.multiples),
			"-rules", joinRules(opts.rules), "-live-child", id}
		cmd := childCommand(ctx, exe, args...)
		pipe, err := cmd.StderrPipe()
		if err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: -jobs: %v\n", err)
			return nil, false
		}
		cmd.Stdout = io.Discard
		if err := startChildCommand(cmd); err != nil {
			fmt.Fprintf(stderr, "relapse calibrate: -jobs: starting %s %s: %v\n", exe, strings.Join(args, " "), err)
			continue
		}
		dirs[k] = filepath.Join(resultsBase(), liveResults, id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := fmt.Sprintf("j%d ", k+1)
			copyLines(stderr, pipe, prefix, &out)
			err := cmd.Wait()
			oks[k] = err == nil
			if err != nil {
				out.Lock()
				fmt.Fprintf(stderr, "%sexited: %v\n", prefix, err)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	ok := true
	var recorded []string
	for k, dir := range dirs {
		ok = ok && oks[k]
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
			recorded = append(recorded, dir)
		}
	}
	return recorded, ok
}

// joinFloats writes leak sizes back as a -multiples list.
func joinFloats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// joinRules writes the rule sets back as a -rules list.
func joinRules(rules []curve.Rules) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}
