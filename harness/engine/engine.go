// Package engine plans and runs relapse's incidents: NewPlan is the one
// selector (incident x variant x runtime build x expected verdict), and
// Engine.Run executes one plan item end to end (sandbox, images, sampler,
// one judgement, one record). The CLI and the Ginkgo suites are thin
// callers of both.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/diag"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// Engine runs plan items one at a time and records their results. Not
// safe for concurrent Runs: runs side by side are separate processes, each
// with its own Engine recording a part of the run (relapse run -jobs,
// ginkgo --procs; results.MergeParts joins the parts).
type Engine struct {
	store       Recorder
	sandboxes   SandboxFactory
	images      ImageLoader
	diagnostics Diagnostics
	rules       curve.Rules
	logf        func(string, ...any)
	close       func() error
}

// Deps are an Engine's parts; Open wires the real ones, tests their own.
type Deps struct {
	Store       Recorder
	Sandboxes   SandboxFactory
	Images      ImageLoader
	Diagnostics Diagnostics
	// Rules judge every variant, live and at the end (default
	// curve.DefaultRules).
	Rules curve.Rules
	Logf  func(string, ...any)
}

// New makes an Engine from its parts.
func New(d Deps) *Engine {
	logf := d.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rules := d.Rules
	if rules == "" {
		rules = curve.DefaultRules
	}
	return &Engine{store: d.Store, sandboxes: d.Sandboxes, images: d.Images, diagnostics: d.Diagnostics, rules: rules, logf: logf, close: func() error { return nil }}
}

// Options configure Open.
type Options struct {
	// Results is the results directory (default <repo>/results).
	Results string
	// RunID names the run (default: a UTC timestamp).
	RunID string
	// Logf narrates every phase.
	Logf func(string, ...any)
	// Rules judge every variant (default curve.DefaultRules).
	Rules curve.Rules
}

// Open sweeps what killed runs left behind, opens results/<run-id>/ and
// returns an Engine on real runtimes, workload images built from images/
// and the daemons' diagnostics.
//
// testcontainers-go resolves its Docker host once per process and would
// otherwise pull its reaper image (no registry here), so Open points
// DOCKER_HOST at one fixed socket every dockerd sandbox of this process
// listens on, and disables the reaper: relapse removes its own containers.
func Open(ctx context.Context, o Options) (*Engine, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dockerHost := filepath.Join(runtime.TempBase, fmt.Sprintf("docker-%d.sock", os.Getpid()))
	for k, v := range map[string]string{"DOCKER_HOST": "unix://" + dockerHost, "TESTCONTAINERS_RYUK_DISABLED": "true"} {
		if err := os.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("setting %s: %w", k, err)
		}
	}
	if err := runtime.Sweep(ctx, logf); err != nil {
		return nil, fmt.Errorf("sweeping leftovers of earlier runs: %w", err)
	}
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		return nil, err
	}
	cache, err := runtime.CacheDir()
	if err != nil {
		return nil, err
	}
	dir, err := ResultsDir(o.Results)
	if err != nil {
		return nil, err
	}
	store, err := results.Open(dir, o.RunID, report.Renderer{})
	if err != nil {
		return nil, fmt.Errorf("results in %s: %w", dir, err)
	}
	logf("results: %s", store.Dir())
	e := New(Deps{
		Store:       store,
		Sandboxes:   RealSandboxes(dockerHost),
		Images:      newImageCache(root, cache, logf).load,
		Diagnostics: diag.Collect,
		Rules:       o.Rules,
		Logf:        logf,
	})
	e.close = func() error {
		// Every sandbox of this process has stopped by now; the socket
		// path they shared outlives them (a bind mount's target).
		if err := os.Remove(dockerHost); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logf("removing %s: %v", dockerHost, err)
		}
		return store.Close()
	}
	return e, nil
}

// ResultsDir is the results directory runs are recorded in: dir, or the
// repository's results/ when dir is empty.
func ResultsDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "results"), nil
}

// Dir is the run's results directory.
func (e *Engine) Dir() string { return e.store.Dir() }

// Close finishes the run's results (summary, pages, results/latest).
func (e *Engine) Close() error { return e.close() }
