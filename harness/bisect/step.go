package bisect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// Step is one candidate as the bisection saw it: its build, every run's
// verdict, the headline number of the last run and where that run's
// results are.
type Step struct {
	Candidate string `json:"candidate"`
	// Build names the runtime build (a cell such as containerd-2.3.5, or a
	// binary built from a commit).
	Build string `json:"build,omitempty"`
	// Verdict is the step's verdict (hold or breach); empty when skipped.
	Verdict curve.Verdict `json:"verdict,omitempty"`
	// Skip says why the step steers nothing: the build failed, or no run
	// reached a certain verdict.
	Skip string `json:"skip,omitempty"`
	// Runs are each run's verdict, in order (a second run when the first
	// was not certain).
	Runs []string `json:"runs,omitempty"`
	// Metric, Slope, SlopeUnit and Budget are the last run's primary
	// budget (judge.Primary): the headline number.
	Metric    string  `json:"metric,omitempty"`
	Slope     float64 `json:"slope"`
	SlopeUnit string  `json:"slope_unit,omitempty"`
	Budget    float64 `json:"budget"`
	// Result is the last run's variant directory (absolute).
	Result string `json:"result,omitempty"`
	// BuildS and RunS are the seconds the build and the runs took when
	// they were made (a cached step keeps its original times).
	BuildS float64 `json:"build_s"`
	RunS   float64 `json:"run_s"`
	// Cached is true when the step was reused from an earlier bisection.
	Cached bool `json:"cached,omitempty"`
}

// Headline reads like "containerd_goroutines slope 4.02 goroutines/op
// (budget 1)", or the skip reason.
func (s Step) Headline() string {
	switch {
	case s.Skip != "":
		return "skipped: " + s.Skip
	case s.Metric == "":
		return string(s.Verdict)
	}
	return fmt.Sprintf("%s %s (budget %s)", s.Metric, results.Quantity(s.Slope, s.SlopeUnit), results.Quantity(s.Budget, s.SlopeUnit))
}

// Builder puts a candidate's runtime build in place and names it; an error
// is a build failure, and the candidate is skipped.
type Builder func(ctx context.Context, candidate string) (build string, err error)

// Runner runs the variant once on a build and returns its result and the
// result's directory. An error is a run that reached no verdict.
type Runner func(ctx context.Context, candidate, build string) (res results.Result, dir string, err error)

// Stepper judges candidates: build, run, a second run when the first is
// not certain, a cache of finished steps so a second bisection over the
// same builds runs nothing.
type Stepper struct {
	Build Builder
	Run   Runner
	// Cache may be nil (no reuse).
	Cache *Cache
	Logf  func(string, ...any)
}

// runsPerStep bounds the runs of one step: one, and one more when the
// first is not certain.
const runsPerStep = 2

// Judge is the Stepper as a search's Judge.
func (st Stepper) Judge(ctx context.Context, candidate string) (Step, error) {
	logf := st.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if s, ok := st.Cache.Load(candidate); ok {
		s.Cached = true
		return s, nil
	}
	s := Step{Candidate: candidate}
	start := time.Now()
	build, err := st.Build(ctx, candidate)
	s.BuildS = time.Since(start).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		s.Skip = "build failed: " + oneLine(err.Error())
		return s, nil
	}
	s.Build = build
	start = time.Now()
	for run := 1; run <= runsPerStep; run++ {
		res, dir, err := st.Run(ctx, candidate, build)
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		s.Result = dir
		why := ""
		if err != nil {
			why = "no verdict: " + oneLine(err.Error())
			s.Runs = append(s.Runs, "error")
		} else {
			why = Uncertain(res)
			s.Runs = append(s.Runs, res.Verdict)
			s.Metric, s.Slope, s.SlopeUnit, s.Budget = res.Metric, res.Slope, res.SlopeUnit, res.Budget
		}
		if why == "" {
			s.Verdict, s.Skip = curve.Verdict(res.Verdict), ""
			break
		}
		s.Skip = fmt.Sprintf("run %d: %s", run, why)
		if run < runsPerStep {
			logf("%s: %s; running it again", candidate, s.Skip)
		}
	}
	s.RunS = time.Since(start).Seconds()
	if s.Skip == "" {
		if err := st.Cache.Store(s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Uncertain says why a result's verdict cannot steer a bisection, or ""
// when it can: no verdict, a slope budget without a fit, or a hold whose
// slope's confidence interval reaches over the budget (more data could
// turn it). A breach is certain when one breaching budget is.
func Uncertain(r results.Result) string {
	switch curve.Verdict(r.Verdict) {
	case curve.Breach:
		for _, e := range r.Evaluations {
			if e.Verdict == curve.Breach && e.Certain {
				return ""
			}
		}
		return "a breach, but no breaching budget is certain"
	case curve.Hold:
		for _, e := range r.Evaluations {
			if e.Budget.Kind != curve.Slope {
				continue
			}
			if e.Fit == nil {
				return fmt.Sprintf("%s: no slope fitted", e.Budget.Metric)
			}
			if e.Fit.Hi > e.Budget.Max {
				return fmt.Sprintf("%s: slope %g, its 95%% CI up to %g straddles the budget %g", e.Budget.Metric, e.Fit.Slope, e.Fit.Hi, e.Budget.Max)
			}
		}
		return ""
	}
	if r.Error != "" {
		return "no verdict: " + oneLine(r.Error)
	}
	return "inconclusive"
}

// ErrNoCandidates is a range with nothing between its ends.
var ErrNoCandidates = errors.New("no builds in range")
