package bisect

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bisection is one search with its record: every step is narrated and the
// report rewritten (by Write, e.g. bisect.json and bisect.html) as soon as
// it is judged.
type Bisection struct {
	Report Report
	Judge  Judge
	// Write records the report; called after every step and at the end.
	Write func(Report) error
	Logf  func(string, ...any)
}

// Run searches the report's candidates and returns the finished report.
// The error is the one the report's Error holds, or a failure to record.
func (b *Bisection) Run(ctx context.Context) (Report, error) {
	r := &b.Report
	r.Started = time.Now().UTC()
	r.MaxJudged = MaxJudged(len(r.Candidates))
	logf := b.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var writeErr error
	write := func() {
		r.WallS = time.Since(r.Started).Seconds()
		if err := b.Write(*r); err != nil && writeErr == nil {
			writeErr = err
		}
	}
	write()
	judge := func(ctx context.Context, candidate string) (Step, error) {
		n := len(r.Steps) + 1
		logf("[bisect %d/≤%d] %s: building and judging", n, r.MaxJudged, Short(candidate))
		s, err := b.Judge(ctx, candidate)
		if err != nil {
			return s, err
		}
		r.Steps = append(r.Steps, s)
		how := fmt.Sprintf("build %s, runs %s", seconds(s.BuildS), seconds(s.RunS))
		if s.Cached {
			how = "cached from an earlier bisection"
		}
		logf("[bisect %d/≤%d] %s: %s — %s (%s); so far: %s", n, r.MaxJudged, Short(candidate), verdictOf(s), s.Headline(), how, r.Verdicts())
		write()
		return s, nil
	}
	out, err := Search(ctx, r.Candidates, judge)
	r.Steps = out.Steps
	r.First, r.Between = out.First, out.Between
	if errors.Is(err, ErrSameVerdict) {
		err = fmt.Errorf("%w: nothing to bisect; widen the range (an earlier good or a later bad build) or pick a variant whose verdict changes in it", err)
	}
	if err != nil {
		r.Error = err.Error()
	}
	r.Done = true
	write()
	if writeErr != nil {
		return *r, fmt.Errorf("recording the bisection: %w", writeErr)
	}
	return *r, err
}

func verdictOf(s Step) string {
	if s.Skip != "" {
		return "skip"
	}
	return string(s.Verdict)
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
