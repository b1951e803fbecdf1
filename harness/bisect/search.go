// Package bisect finds the first runtime build (a release tag or a commit)
// on which an incident's variant gives another verdict than on the first
// build of a range: where a leak appeared, or where it was fixed. It
// binary-searches an ordered list of candidates, building and judging a
// candidate only when the search needs it, and skips a candidate that
// cannot be built or judged the way `git bisect skip` does.
//
// The search knows nothing of runtimes: a Judge turns a candidate into a
// Step (build, run, verdict). The CLI's Judge builds with
// scripts/runtimes.sh and runs through the engine; a test's builds a toy
// daemon with go build.
package bisect

import (
	"context"
	"errors"
	"fmt"

	"github.com/relapse-dev/relapse/harness/curve"
)

// Judge builds and judges one candidate. A Step with Skip set is a
// candidate that could not be built or judged to a certain verdict; an
// error stops the bisection (Ctrl-C, a broken cache).
type Judge func(ctx context.Context, candidate string) (Step, error)

// Outcome is what a search found.
type Outcome struct {
	// First is the first candidate whose verdict differs from the first
	// candidate's, "" when skipped candidates hide it (see Between).
	First string
	// Between lists, when First is "", the candidates the first change is
	// among: skipped ones and the first judged one that differs.
	Between []string
	// Steps are every judged or skipped candidate, in the order judged.
	Steps []Step
}

// ErrSameVerdict is a range whose two ends give the same verdict.
var ErrSameVerdict = errors.New("same verdict at both ends")

// Search judges candidates[0] and then binary-searches the rest for the
// first one whose verdict differs. It treats the range as if one more
// candidate, known to differ, followed the last: the last candidate is
// judged like any other, so a search over n candidates judges at most
// ceil(log2 n)+1 of them when none is skipped, and the whole range giving
// one verdict ends in ErrSameVerdict rather than in a guess.
func Search(ctx context.Context, candidates []string, judge Judge) (Outcome, error) {
	var out Outcome
	if len(candidates) < 2 {
		return out, fmt.Errorf("need at least two builds to bisect, got %d", len(candidates))
	}
	first, err := judge(ctx, candidates[0])
	if err != nil {
		return out, err
	}
	out.Steps = append(out.Steps, first)
	if first.Skip != "" {
		return out, fmt.Errorf("the first build %s cannot be judged (%s): start the range at a build that can", candidates[0], first.Skip)
	}
	want := first.Verdict
	// Everything before lo gives want (or was skipped); hi differs, where
	// hi == len(candidates) is the sentinel past the last candidate.
	lo, hi := 1, len(candidates)
	skipped := map[int]bool{}
	for lo < hi {
		mid, ok := pick(lo, hi, skipped)
		if !ok {
			break
		}
		s, err := judge(ctx, candidates[mid])
		if err != nil {
			return out, err
		}
		out.Steps = append(out.Steps, s)
		switch {
		case s.Skip != "":
			skipped[mid] = true
		case s.Verdict == want:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	if lo == hi {
		if hi == len(candidates) {
			return out, fmt.Errorf("%w: every judged build from %s to %s gives %s", ErrSameVerdict, candidates[0], candidates[len(candidates)-1], want)
		}
		out.First = candidates[hi]
		return out, nil
	}
	// Every candidate in [lo, hi) was skipped: the change is among them or
	// at hi.
	out.Between = append(out.Between, candidates[lo:min(hi+1, len(candidates))]...)
	return out, nil
}

// pick is the unskipped index in [lo, hi) nearest lo+(hi-lo)/2, the probe
// that halves the lo..hi answers, preferring the lower one on a tie.
func pick(lo, hi int, skipped map[int]bool) (int, bool) {
	mid := lo + (hi-lo)/2
	for d := 0; mid-d >= lo || mid+d < hi; d++ {
		if i := mid - d; i >= lo && !skipped[i] {
			return i, true
		}
		if i := mid + d; i < hi && !skipped[i] {
			return i, true
		}
	}
	return 0, false
}

// Verdict is a step's verdict; only Hold and Breach steer the search.
type Verdict = curve.Verdict
