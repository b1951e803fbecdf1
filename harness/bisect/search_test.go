package bisect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
)

// fakeRange judges candidate i as breach before change and hold from it on,
// skipping the ones listed; it counts what it judged.
type fakeRange struct {
	change int
	skip   []int
	judged []string
}

func (f *fakeRange) judge(_ context.Context, c string) (Step, error) {
	f.judged = append(f.judged, c)
	var i int
	fmt.Sscanf(c, "c%d", &i)
	s := Step{Candidate: c, Verdict: curve.Breach}
	switch {
	case slices.Contains(f.skip, i):
		s.Verdict, s.Skip = "", "build failed"
	case i >= f.change:
		s.Verdict = curve.Hold
	}
	return s, nil
}

func candidates(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%d", i)
	}
	return out
}

func TestSearchFindsEveryChangeWithinTheBound(t *testing.T) {
	for n := 2; n <= 40; n++ {
		for change := 1; change < n; change++ {
			f := &fakeRange{change: change}
			out, err := Search(context.Background(), candidates(n), f.judge)
			if err != nil {
				t.Fatalf("n=%d change=%d: %v", n, change, err)
			}
			if want := fmt.Sprintf("c%d", change); out.First != want {
				t.Errorf("n=%d: first %q, want %q (judged %v)", n, out.First, want, f.judged)
			}
			if len(f.judged) > MaxJudged(n) {
				t.Errorf("n=%d change=%d: judged %d builds %v, bound %d", n, change, len(f.judged), f.judged, MaxJudged(n))
			}
		}
	}
}

func TestSearchWorksBothWays(t *testing.T) {
	// A fix: breach first, hold from c3 on. An introduction: the same
	// range read from the other end, hold first.
	f := &fakeRange{change: 3}
	cs := candidates(8)
	if out, _ := Search(context.Background(), cs, f.judge); out.First != "c3" {
		t.Errorf("fix found at %q, want c3", out.First)
	}
	rev := slices.Clone(cs)
	slices.Reverse(rev)
	if out, _ := Search(context.Background(), rev, f.judge); out.First != "c2" {
		t.Errorf("reading backwards, the first build back in the breach is %q, want c2", out.First)
	}
}

func TestSearchSkipsBuildsThatCannotBeJudged(t *testing.T) {
	// The change is at c5; c4 and c5 do not build, so the change is
	// somewhere in c4..c6, and the search must say so instead of guessing.
	f := &fakeRange{change: 5, skip: []int{4, 5}}
	out, err := Search(context.Background(), candidates(10), f.judge)
	if err != nil {
		t.Fatal(err)
	}
	if out.First != "" || strings.Join(out.Between, " ") != "c4 c5 c6" {
		t.Errorf("first %q between %v, want between c4 c5 c6", out.First, out.Between)
	}
	// A skip next to the change is walked around: c6 skipped, change at c5.
	f = &fakeRange{change: 5, skip: []int{6, 3}}
	out, err = Search(context.Background(), candidates(10), f.judge)
	if err != nil || out.First != "c5" {
		t.Errorf("first %q (%v), want c5; judged %v", out.First, err, f.judged)
	}
	var skipped int
	for _, s := range out.Steps {
		if s.Skip != "" {
			skipped++
		}
	}
	if skipped == 0 {
		t.Errorf("no skipped step recorded, judged %v", f.judged)
	}
}

func TestSearchNamesBadRanges(t *testing.T) {
	f := &fakeRange{change: 100}
	if _, err := Search(context.Background(), candidates(6), f.judge); !errors.Is(err, ErrSameVerdict) || !strings.Contains(err.Error(), "c0 to c5 gives breach") {
		t.Errorf("same verdict at both ends: %v", err)
	}
	f = &fakeRange{change: 3, skip: []int{0}}
	if _, err := Search(context.Background(), candidates(6), f.judge); err == nil || !strings.Contains(err.Error(), "the first build c0 cannot be judged") {
		t.Errorf("first build skipped: %v", err)
	}
	if _, err := Search(context.Background(), candidates(1), f.judge); err == nil {
		t.Errorf("one candidate: no error")
	}
}

func TestSearchStopsOnAJudgeError(t *testing.T) {
	calls := 0
	judge := func(context.Context, string) (Step, error) {
		calls++
		if calls == 2 {
			return Step{}, context.Canceled
		}
		return Step{Verdict: curve.Breach}, nil
	}
	if _, err := Search(context.Background(), candidates(8), judge); !errors.Is(err, context.Canceled) || calls != 2 {
		t.Errorf("err %v after %d calls, want Canceled after 2", err, calls)
	}
}

func TestTags(t *testing.T) {
	listing := []string{"v2.2.3", "v2.3.4", "v2.3.5-rc.1", "v2.3.5", "v2.3.6", "v2.3.7", "v2.4.0"}
	got, err := Tags(listing, "v2.3.4", "v2.3.7", false)
	if err != nil || strings.Join(got, " ") != "v2.3.4 v2.3.5 v2.3.6 v2.3.7" {
		t.Errorf("tags %v (%v)", got, err)
	}
	got, _ = Tags(listing, "v2.3.4", "v2.3.7", true)
	if !slices.Contains(got, "v2.3.5-rc.1") {
		t.Errorf("-prereleases left out the rc: %v", got)
	}
	got, _ = Tags(listing, "v2.3.7", "v2.3.4", false)
	if strings.Join(got, " ") != "v2.3.7 v2.3.6 v2.3.5 v2.3.4" {
		t.Errorf("a backwards range reads %v", got)
	}
	for good, want := range map[string]string{
		"v2.3.0": "unknown tag v2.3.0: the module proxy lists v2.3.4 v2.3.5-rc.1 v2.3.5 v2.3.6 v2.3.7",
		"2.3.4":  `"2.3.4" is not a release tag`,
		"v2.3.6": "lists nothing between v2.3.6 and v2.3.7",
	} {
		if _, err := Tags(listing, good, "v2.3.7", false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Tags(%s..v2.3.7) = %v, want %q", good, err, want)
		}
	}
}

func TestMaxJudged(t *testing.T) {
	for n, want := range map[int]int{2: 2, 3: 3, 4: 3, 5: 4, 6: 4, 8: 4, 9: 5} {
		if got := MaxJudged(n); got != want {
			t.Errorf("MaxJudged(%d) = %d, want %d", n, got, want)
		}
	}
}
