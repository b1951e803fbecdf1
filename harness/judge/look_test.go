package judge_test

import (
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/judge"
)

// flat is a counter that stays at 40 (one count of jitter) for 30 s at 10 Hz
// with one op per second.
func flat() curve.Series {
	s := curve.Series{Metric: "fds", Phases: []curve.Phase{{Name: curve.PhaseStimulus, T: 1}}}
	for i := 0; i < 310; i++ {
		t := float64(i) / 10
		s.Points = append(s.Points, curve.Point{T: t, Op: float64(max(0, int(t-1))), V: 40 + float64(i%2)})
	}
	return s
}

var slope = curve.Budget{Metric: "fds", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5}

func TestLookStopsOnACertainHoldOnlyUnderV2(t *testing.T) {
	series := []curve.Series{flat()}
	if l := judge.LookAt(curve.RulesV2, []curve.Budget{slope}, series); !l.Stop || l.Verdict != curve.Hold {
		t.Fatalf("v2 look at a flat counter: stop %v %s, want a certain hold", l.Stop, l.Verdict)
	}
	if l := judge.LookAt(curve.RulesV1, []curve.Budget{slope}, series); l.Stop {
		t.Fatalf("v1 never stops on a hold: stop %v %s", l.Stop, l.Verdict)
	}
	growth := curve.Budget{Metric: "fds", Kind: curve.Growth, Max: 10}
	if l := judge.LookAt(curve.RulesV2, []curve.Budget{slope, growth}, series); !l.Stop {
		t.Fatal("a held growth budget does not keep a certain hold from stopping")
	}
	residual := curve.Budget{Metric: "fds", Kind: curve.Residual, Max: 4, SettleWindow: 5}
	if l := judge.LookAt(curve.RulesV2, []curve.Budget{slope, residual}, series); l.Stop {
		t.Fatal("a residual budget is judged after the settle: no early hold")
	}
}

// A variant judged on its settle cannot stop early, but once its slopes
// have decided its stimulus has shown all it can (the drive may end it and
// settle): every slope holds for certain, or a breach is certain. Never
// under v1, whose certainty is not calibrated; never while a slope is
// undecided.
func TestLookSaysWhenTheSlopesHaveDecidedForASettle(t *testing.T) {
	residual := curve.Budget{Metric: "fds", Kind: curve.Residual, Max: 4, SettleWindow: 5}
	budgets := []curve.Budget{slope, residual}
	series := []curve.Series{flat()}
	if l := judge.LookAt(curve.RulesV2, budgets, series); l.Stop || !l.SlopesDecided {
		t.Fatalf("v2, flat counter with a residual budget: stop %v, decided %v; want no stop and slopes decided", l.Stop, l.SlopesDecided)
	}
	if l := judge.LookAt(curve.RulesV3, budgets, series); l.Stop || !l.SlopesDecided {
		t.Fatalf("v3, flat counter with a residual budget: stop %v, decided %v; want no stop and slopes decided", l.Stop, l.SlopesDecided)
	}
	if l := judge.LookAt(curve.RulesV1, budgets, series); l.SlopesDecided {
		t.Fatal("v1 has no certain hold: its slopes never hold early")
	}
	if l := judge.LookAt(curve.RulesV2, budgets, judge.Until(series, 3)); l.SlopesDecided {
		t.Fatal("two seconds of stimulus cannot make a slope hold for certain")
	}
	leak := flat()
	for i := range leak.Points {
		leak.Points[i].V += 2 * leak.Points[i].Op
	}
	for _, rules := range []curve.Rules{curve.RulesV2, curve.RulesV3} {
		if l := judge.LookAt(rules, budgets, []curve.Series{leak}); !l.SlopesDecided || l.Verdict != curve.Breach {
			t.Fatalf("%s, a leak of 4x the budget: decided %v, verdict %q; want a certain breach that ends the stimulus", rules, l.SlopesDecided, l.Verdict)
		}
	}
	if l := judge.LookAt(curve.RulesV1, budgets, []curve.Series{leak}); l.SlopesDecided {
		t.Fatal("v1's certain breach is not calibrated: it must not end a settle-judged stimulus")
	}
	if l := judge.LookAt(curve.RulesV2, []curve.Budget{slope}, series); !l.Stop || l.SlopesDecided {
		t.Fatalf("without a residual the run stops on the hold itself: stop %v, decided %v", l.Stop, l.SlopesDecided)
	}
}

func TestFinalJudgesWhatTheDecidingLookSawUnderV2(t *testing.T) {
	s := flat()
	// After the look at 10 s the counter jumps: a late sample must not
	// turn a v2 verdict made at 10 s.
	for i := range s.Points {
		if s.Points[i].T > 10 {
			s.Points[i].V += 5 * (s.Points[i].T - 10)
		}
	}
	series := []curve.Series{s}
	if j := judge.Final(curve.RulesV2, []curve.Budget{slope}, series, judge.Cut{Stop: 10}); j.Verdict != curve.Hold {
		t.Fatalf("v2 stopped at 10 s: %s, want the hold the look saw", j.Verdict)
	}
	if j := judge.Final(curve.RulesV1, []curve.Budget{slope}, series, judge.Cut{Stop: 10}); j.Verdict != curve.Breach {
		t.Fatalf("v1 judges every sample, as it always has: %s", j.Verdict)
	}
	cut := judge.Until(series, 10)
	if n := len(cut[0].Points); n != 101 || judge.LastSample(cut) != 10 {
		t.Fatalf("until 10 s: %d points, last %g", n, judge.LastSample(cut))
	}
}

// A run judged on its settle whose stimulus ended on decided slopes keeps
// the slope verdicts that look saw, while its residual is judged on the
// settle as ever; v1 judges every sample.
func TestFinalKeepsTheSlopesTheEnoughLookSaw(t *testing.T) {
	s := flat()
	// From 16 s the counter climbs (a few late samples the look did not
	// see), then the settle from 25 s sits back on the baseline.
	s.Phases = append(s.Phases, curve.Phase{Name: curve.PhaseSettle, T: 25})
	for i := range s.Points {
		if tt := s.Points[i].T; tt > 16 && tt < 25 {
			s.Points[i].V += 4 * (tt - 16)
		}
	}
	residual := curve.Budget{Metric: "fds", Kind: curve.Residual, Max: 4, SettleWindow: 3}
	budgets := []curve.Budget{slope, residual}
	series := []curve.Series{s}
	if l := judge.LookAt(curve.RulesV3, budgets, judge.Until(series, 16)); !l.SlopesDecided {
		t.Fatalf("test data: the look at 16 s must find the slope decided: %+v", l.Evaluations)
	}
	if j := judge.Final(curve.RulesV3, budgets, series, judge.Cut{}); j.Evaluations[0].Verdict == curve.Hold {
		t.Fatalf("test data: judged on every sample the slope must not hold: %+v", j.Evaluations[0])
	}
	j := judge.Final(curve.RulesV3, budgets, series, judge.Cut{Slopes: 16})
	if j.Verdict != curve.Hold || !j.Evaluations[0].Certain || j.Evaluations[1].Verdict != curve.Hold {
		t.Fatalf("v3 cut at 16 s: %s, %+v; want the look's certain hold and the residual judged on the settle", j.Verdict, j.Evaluations)
	}
	if j := judge.Final(curve.RulesV1, budgets, series, judge.Cut{Slopes: 16}); j.Evaluations[0].Verdict != curve.Breach {
		t.Fatalf("v1 judges every sample: %+v", j.Evaluations[0])
	}
}
