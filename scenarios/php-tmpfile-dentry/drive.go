package phptmpfiledentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/load"
	"github.com/relapse-dev/relapse/harness/wait"
)

// loadReport is what load.json records: the load as sent and served, so a
// slope per request can be read against what was really served.
type loadReport struct {
	BodySize     int              `json:"body_size"`
	Rate         float64          `json:"rate_target"`
	Total        int64            `json:"total_target"`
	Sent         int64            `json:"sent"`
	OK           int64            `json:"ok"`
	Errors       map[string]int64 `json:"errors"`
	AchievedRate float64          `json:"achieved_rate"`
	ElapsedS     float64          `json:"elapsed_s"`
	P50Ms        float64          `json:"p50_ms"`
	P99Ms        float64          `json:"p99_ms"`
	Error        string           `json:"error,omitempty"`
}

// Drive POSTs requests bodies at rate, one op per request served, then
// samples a short tail to show the kmem does not come back by itself.
func (a *uploading) Drive(ctx context.Context) error {
	need := needed()
	st, err := load.Run(ctx, load.Options{
		URL: uploadURL(a.port), BodySize: a.cfg.bodySize, Rate: rate, Concurrency: concurrency,
		Total: requests, Timeout: incident.Scale(loadFor, a.scale), Ops: a.ops, Dial: a.dial,
		MinOK: need, Extend: extension(ctx, a.scale),
	})
	a.logf("php-upload load: %s", st)
	if werr := a.writeLoadReport(st, err); werr != nil {
		a.logf("php-upload: %v", werr)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return err // stopped early on a certain breach, or timed out; wraps ctx.Err()
	case errors.Is(err, load.ErrIncomplete) && st.OK >= need:
		a.logf("php-upload: %v; judging the %d requests served", err, st.OK)
	case errors.Is(err, load.ErrIncomplete):
		return fmt.Errorf("php-upload served %d requests at %.1f/s before the variant's time ran out; its budgets need %d (the warm-up and the span pod memory's resolution needs): this machine is too slow to judge them: %w",
			st.OK, st.Rate, need, err)
	case err != nil:
		return fmt.Errorf("php-upload load: %w", err)
	}
	if failed := st.Failed() - st.Errors["canceled"]; float64(failed) > maxFailed*float64(st.Sent) {
		return fmt.Errorf("php-upload: %d of %d requests failed (%v): the workload is broken, not leaking; its log:\n%s",
			failed, st.Sent, st.Errors, a.logs(context.WithoutCancel(ctx)))
	}
	a.mark(curve.PhaseSettle)
	return wait.Sleep(ctx, tail)
}

// needed is how many requests the budgets need to be judged: the warm-up
// and the span the coarsest metric needs before a growth at the budget's
// rate passes its resolution (curve.Budget.MinSpan), with a tenth more: the
// fit starts at the first sample past the warm-up, not on it.
func needed() int64 {
	var span float64
	for _, b := range budgets() {
		if b.Per == curve.PerOp {
			span = max(span, b.MinSpan())
		}
	}
	return warmup + int64(math.Ceil(span*1.1))
}

// extension is how long the load may run past its time bound to serve the
// requests the budgets need: until the variant's deadline, less the tail and
// a margin for the verdict, both stretched like the bound.
func extension(ctx context.Context, scale float64) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl)-incident.Scale(loadFor+tail+10*time.Second, scale), 0)
}

// writeLoadReport writes load.json into the variant's results directory.
func (a *uploading) writeLoadReport(st load.Stats, runErr error) error {
	rep := loadReport{
		BodySize: a.cfg.bodySize, Rate: rate, Total: requests, Sent: st.Sent, OK: st.OK, Errors: st.Errors,
		AchievedRate: st.Rate, ElapsedS: st.Elapsed.Seconds(),
		P50Ms: float64(st.P50) / float64(time.Millisecond), P99Ms: float64(st.P99) / float64(time.Millisecond),
	}
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding load.json: %w", err)
	}
	p := filepath.Join(a.dir, "load.json")
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}
