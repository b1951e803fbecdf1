package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
)

// widgets is a counter that stays at 40, one count of jitter, and keeps
// leak widgets per op (ops, once the drive counts them).
type widgets struct {
	n    atomic.Int64
	ops  *probe.Ops
	leak int64
}

func (w *widgets) Describe() []probe.Desc { return []probe.Desc{{Name: "widgets", Unit: "widgets"}} }
func (w *widgets) Collect(context.Context) (map[string]float64, error) {
	return map[string]float64{"widgets": float64(40 + w.n.Add(1)%2 + w.leak*w.ops.Load())}, nil
}

// settleCase loops an operation every 50 ms for at most 30 s, ends the
// loop when the engine says enough, then settles like a kill loop. Each op
// leaks leak widgets.
type settleCase struct {
	loopFor *time.Duration
	leak    int64
}

func (c settleCase) Start(_ context.Context, env *incident.Env) (incident.Attempt, error) {
	return &settling{env: env, loopFor: c.loopFor, leak: c.leak}, nil
}

type settling struct {
	env     *incident.Env
	loopFor *time.Duration
	leak    int64
}

func (s *settling) Probes() []probe.Source {
	return []probe.Source{&widgets{ops: s.env.Ops, leak: s.leak}}
}
func (s *settling) Drive(ctx context.Context) error {
	start := time.Now()
	for i := 0; i < 600 && !incident.Closed(s.env.Enough); i++ {
		if err := wait.Sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		s.env.Ops.Add(1)
	}
	*s.loopFor = time.Since(start)
	s.env.Mark(curve.PhaseSettle)
	return wait.Sleep(ctx, 1500*time.Millisecond)
}

// A variant whose settle is its evidence is never cut short, but under
// rules with certain verdicts its drive hears when the slopes have shown
// all they can (every one holds for certain, or one breaches for certain),
// ends its loop and settles: the residual is judged on the settle as ever,
// the slopes as the look that ended the loop saw them. (v1 has no certain
// hold: harness/judge's look tests show it never says enough.)
func TestRunToEndEndsTheStimulusOnceTheSlopesHaveDecided(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules curve.Rules
		leak  int64
		want  curve.Verdict
	}{
		{"holds-v2", curve.RulesV2, 0, curve.Hold},
		{"leaks-v3", curve.RulesV3, 2, curve.Breach},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // judged on its own counter, not on this process' RSS
			budgets := []curve.Budget{
				{Metric: "widgets", Kind: curve.Slope, Per: curve.PerOp, Max: 0.5},
				{Metric: "widgets", Kind: curve.Residual, Max: 4, SettleWindow: 1},
			}
			var loopFor time.Duration
			v := incident.Variant{Name: c.name, Expect: c.want, Budgets: budgets, RunToEnd: true,
				Interval: 50 * time.Millisecond, Case: settleCase{loopFor: &loopFor, leak: c.leak}}
			eng, _ := newEngine(t, func() *selfSandbox { return &selfSandbox{root: t.TempDir()} })
			eng.rules = c.rules
			res, err := eng.Run(context.Background(), item(t, v))
			if err != nil || res.Verdict != string(c.want) || !res.OK {
				t.Fatalf("err %v, verdict %s ok %v: want %s: %+v", err, res.Verdict, res.OK, c.want, res.Evaluations)
			}
			if res.StoppedEarly || res.EnoughAfterS == 0 || loopFor > 25*time.Second {
				t.Fatalf("stopped early %v, enough after %.1fs, loop ran %v: want no early stop, the loop ended on enough", res.StoppedEarly, res.EnoughAfterS, loopFor)
			}
			if res.SlopesJudgedToS == 0 || res.JudgedToS != 0 {
				t.Fatalf("slopes judged to %.1fs, all judged to %.1fs: want the slopes as the enough look saw them, the rest on every sample", res.SlopesJudgedToS, res.JudgedToS)
			}
			if len(res.Evaluations) != 2 || res.Evaluations[1].Verdict != c.want {
				t.Fatalf("evaluations %+v: the residual is judged on the settle (a leak keeps what the loop leaked)", res.Evaluations)
			}
		})
	}
}
