package dockerdattachleak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/relapse-dev/relapse/harness/probe"
)

// gcCycles is a Source for the number of garbage collections dockerd's Go
// runtime has finished (metric dockerd_gc_cycles), from expvar's memstats
// at /debug/vars (served with --debug). An fd that a daemon leaves to a
// finalizer rather than closing is released only when a collection runs,
// so fd drops that line up with its steps are the collector's work.
type gcCycles struct {
	socket string
	client *http.Client
}

func newGCCycles(socket string) (*gcCycles, error) {
	if socket == "" {
		return nil, errors.New("gc probe: need dockerd's unix socket")
	}
	return &gcCycles{socket: socket, client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// No idle connection: it would be an fd of its own in dockerd.
		DisableKeepAlives: true,
	}}}, nil
}

// Describe implements probe.Source.
func (g *gcCycles) Describe() []probe.Desc {
	return []probe.Desc{{Name: "dockerd_gc_cycles", Unit: "collections"}}
}

// force makes dockerd run a full collection now: net/http/pprof's heap
// profile runs one before profiling when asked with gc=1.
func (g *gcCycles) force(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://dockerd/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("forcing a collection in dockerd: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("forcing a collection in dockerd: GET /debug/pprof/heap?gc=1: %s", resp.Status)
	}
	return nil
}

// Collect implements probe.Source.
func (g *gcCycles) Collect(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://dockerd/debug/vars", nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gc probe: GET /debug/vars on %s: %w", g.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gc probe: GET /debug/vars on %s: %s (is dockerd running with --debug?)", g.socket, resp.Status)
	}
	var vars struct {
		Memstats struct{ NumGC uint32 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return nil, fmt.Errorf("gc probe: /debug/vars on %s: %w", g.socket, err)
	}
	return map[string]float64{"dockerd_gc_cycles": float64(vars.Memstats.NumGC)}, nil
}
