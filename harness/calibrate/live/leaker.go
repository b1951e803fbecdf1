package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/probe"
	"github.com/relapse-dev/relapse/harness/wait"
	"github.com/relapse-dev/relapse/harness/workload"
)

// containerName addresses the leaker's container in its cleanup, so it is
// removed even when its start was cancelled midway.
const containerName = "leaker"

// readyWithin bounds the wait for the leaker's socket to answer.
const readyWithin = 20 * time.Second

// leakerCase runs the leaker at one multiple of the budgets.
type leakerCase struct{ multiple float64 }

// Start runs the leaker in a container of the sandbox dockerd, serving on
// a socket in a directory below the sandbox's root bound into it, and
// waits until it answers.
func (c leakerCase) Start(ctx context.Context, env *incident.Env) (incident.Attempt, error) {
	cli, err := workload.DockerClient(ctx, env.Sandbox)
	if err != nil {
		return nil, err
	}
	env.Defer(func(context.Context) error { return cli.Close() })
	// Below the sandbox's root: a short path (a unix socket's is bounded)
	// that the sandbox's Close removes with everything else.
	dir := filepath.Join(env.Sandbox.Root(), "leaker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("leaker socket directory: %w", err)
	}
	env.Defer(func(ctx context.Context) error { return workload.RemoveDocker(ctx, cli, containerName) })
	seed := uint64(time.Now().UnixNano()) & (1<<52 - 1) // exact in a float64 extra
	ctr, err := workload.RunDocker(ctx, workload.DockerRequest{
		Host: env.Sandbox.Address(), Image: env.Images[leakerImage], Name: containerName,
		Cmd:        args(c.multiple, seed),
		HostConfig: func(hc *container.HostConfig) { hc.Binds = []string{dir + ":/run/leaker"} },
		Logf:       env.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the leaker: %w", err)
	}
	socket := filepath.Join(dir, "leaker.sock")
	a := &leaking{multiple: c.multiple, seed: seed, socket: socket, client: probe.UnixClient(socket), ops: env.Ops, logf: env.Logf, pid: ctr.PID}
	if err := wait.Until(ctx, "the leaker's socket to answer", 50*time.Millisecond, incident.Scale(readyWithin, env.TimeScale), func() (bool, string) {
		_, err := a.stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	}); err != nil {
		return nil, err
	}
	if a.goroutines, err = probe.NewGoroutines("leaker", socket); err != nil {
		return nil, err
	}
	if a.process, err = probe.NewProcess("leaker", func() int { return a.pid }); err != nil {
		return nil, err
	}
	env.Logf("leaker pid %d at %gx the budgets (seed %d)", a.pid, c.multiple, seed)
	return a, nil
}

// leaking is one run of the leaker.
type leaking struct {
	multiple   float64
	seed       uint64
	socket     string
	client     *http.Client
	ops        *probe.Ops
	logf       func(string, ...any)
	pid        int
	goroutines *probe.Goroutines
	process    *probe.Process
	// end is what the leaker reported it kept, after the drive.
	end leakerStats
}

// leakerStats is the leaker's /stats.
type leakerStats struct {
	Ops          int `json:"ops"`
	Goroutines   int `json:"goroutines"`
	FDs          int `json:"fds"`
	Bytes        int `json:"bytes"`
	InFlightPeak int `json:"inflight_peak"`
}

// Probes: the leaker's goroutines from its pprof, and its RSS, fds and
// threads from procfs, as a daemon's are read.
func (a *leaking) Probes() []probe.Source { return []probe.Source{a.goroutines, a.process} }

// Drive sends the ops at a steady pace, one connection each, then reads
// what the leaker kept.
func (a *leaking) Drive(ctx context.Context) error {
	t := time.NewTicker(time.Second / opsPerSec)
	defer t.Stop()
	for i := 0; i < ops; i++ {
		if err := a.op(ctx); err != nil {
			return fmt.Errorf("op %d of %d: %w", i+1, ops, err)
		}
		a.ops.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	s, err := a.stats(ctx)
	if err != nil {
		return err
	}
	a.end = s
	a.logf("leaker kept %d goroutines, %d fds and %d bytes over %d ops; at most %d calls in flight", s.Goroutines, s.FDs, s.Bytes, s.Ops, s.InFlightPeak)
	return nil
}

func (a *leaking) op(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return a.get(ctx, "/op", nil)
}

func (a *leaking) stats(ctx context.Context) (leakerStats, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var s leakerStats
	err := a.get(ctx, "/stats", func(r io.Reader) error { return json.NewDecoder(r).Decode(&s) })
	return s, err
}

func (a *leaking) get(ctx context.Context, path string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://leaker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s on %s: %w", path, a.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s on %s: %s: %s", path, a.socket, resp.Status, body)
	}
	if read == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return read(resp.Body)
}

// Extras: the truth (the multiple, and what the leaker says it kept) next
// to each budget's fitted slope in units of its budget, so a run's record
// says how far the fit was from the truth.
func (a *leaking) Extras(_ []curve.Series, evals []curve.Evaluation) map[string]float64 {
	out := map[string]float64{
		ExtraMultiple:         a.multiple,
		"seed":                float64(a.seed),
		"ops":                 float64(a.end.Ops),
		"kept_goroutines":     float64(a.end.Goroutines),
		"kept_fds":            float64(a.end.FDs),
		"kept_bytes":          float64(a.end.Bytes),
		"inflight_peak_calls": float64(a.end.InFlightPeak),
	}
	for _, e := range evals {
		if e.Budget.Kind == curve.Slope && e.Budget.Max > 0 && e.Fit != nil {
			out[e.Budget.Metric+"_slope_x_budget"] = e.Measured / e.Budget.Max
		}
	}
	return out
}

// ExtraMultiple is the extra a run's result carries its true leak in, as a
// multiple of its budgets: how the tally knows the truth of a recorded run.
const ExtraMultiple = "true_multiple"

var _ incident.Reporter = (*leaking)(nil)
