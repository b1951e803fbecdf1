// Package suite wires relapse's harness into Ginkgo suites: one runner per
// suite process (sandbox factory, image loader, diagnostics, results
// writer), started in BeforeSuite and finished in ReportAfterSuite, where the
// JUnit report and the verdict table are written.
package suite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/harness/diag"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/harness/workload"
)

// Env names the suite reads.
const (
	// EnvResults is the results directory (default <repo>/results).
	EnvResults = "RELAPSE_RESULTS"
	// EnvRunID fixes the run id (default: a UTC timestamp).
	EnvRunID = "RELAPSE_RUN_ID"
)

// Run is one suite process' harness.
type Run struct {
	// Runner runs the variants.
	Runner *scenario.Runner
	// Results is where they are written.
	Results *report.Writer
}

// Start sweeps leftovers of earlier runs that were killed, opens the results
// writer and returns a runner wired to real runtimes. regression runs the
// variants on the user's runtime configuration (RELAPSE_*_CONFIG).
func Start(ctx context.Context, logf func(string, ...any), regression bool) (*Run, error) {
	// testcontainers-go resolves its Docker host once per process and would
	// otherwise pull its reaper image (no registry here): every dockerd
	// sandbox of this process listens on one fixed socket, and relapse
	// removes its own containers.
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
	dir := os.Getenv(EnvResults)
	if dir == "" {
		dir = filepath.Join(root, "results")
	}
	w, err := report.NewWriter(dir, os.Getenv(EnvRunID))
	if err != nil {
		return nil, fmt.Errorf("results in %s: %w", dir, err)
	}
	logf("results: %s", w.Dir())
	images := &imageCache{root: root, cache: cache, built: map[string]workload.Image{}, logf: logf}
	return &Run{
		Results: w,
		Runner: &scenario.Runner{
			Results:     w,
			Sandboxes:   Sandboxes(dockerHost),
			Images:      images.load,
			Diagnostics: diag.Collect,
			Logf:        logf,
			Regression:  regression,
		},
	}, nil
}

// Lifecycle declares a suite's BeforeSuite, which starts its Run (in
// regression mode or not), and its ReportAfterSuite, which finishes it;
// specs reach the Run through the returned function. Call it once per
// suite, at the top level.
func Lifecycle(regression bool) func() *Run {
	var run *Run
	ginkgo.BeforeSuite(func(ctx ginkgo.SpecContext) {
		var err error
		run, err = Start(ctx, Logf(ginkgo.GinkgoWriter), regression)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
	})
	ginkgo.ReportAfterSuite("results", func(r ginkgo.Report) {
		if run != nil {
			gomega.Expect(run.Finish(r)).To(gomega.Succeed())
		}
	})
	return func() *Run { return run }
}

// Finish writes the JUnit report into the run directory, closes the results
// (summary.json, index.html, metrics.prom, results/latest) and prints the
// verdict table.
func (r *Run) Finish(rep types.Report) error {
	junit := filepath.Join(r.Results.Dir(), "junit.xml")
	if err := reporters.GenerateJUnitReport(rep, junit); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := r.Results.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\nresults: %s\n", r.Results.Dir())
	return nil
}

// Sandboxes returns the factory of the runtime instances variants run on;
// every dockerd listens on dockerHost (one at a time). In regression mode
// the variant's own knobs are dropped: the user's configuration
// (RELAPSE_CONTAINERD_CONFIG / RELAPSE_DOCKERD_CONFIG) is what is judged.
func Sandboxes(dockerHost string) scenario.SandboxFactory {
	return func(kind runtime.Kind, spec scenario.SandboxSpec, regression bool, logf func(string, ...any)) (runtime.Sandbox, error) {
		return newSandbox(kind, spec, regression, dockerHost, logf)
	}
}

func newSandbox(kind runtime.Kind, spec scenario.SandboxSpec, regression bool, dockerHost string, logf func(string, ...any)) (runtime.Sandbox, error) {
	switch kind {
	case runtime.Containerd:
		opts := runtime.ContainerdOptions{Version: spec.Version, Config: spec.Containerd, MemoryLimit: spec.MemoryLimit, Logf: logf}
		if regression {
			opts.Config = runtime.ContainerdConfig{}
			if os.Getenv(runtime.EnvContainerdConfig) == "" {
				return nil, fmt.Errorf("regression mode judges your containerd config: set %s to its path", runtime.EnvContainerdConfig)
			}
		} else {
			opts.ConfigFile = runtime.TemplateConfig
		}
		return runtime.NewContainerd(opts)
	case runtime.Dockerd:
		opts := runtime.DockerdOptions{Version: spec.Version, Config: spec.Dockerd, MemoryLimit: spec.MemoryLimit, Host: dockerHost, Logf: logf}
		if regression {
			opts.Config = runtime.DockerdConfig{}
			if os.Getenv(runtime.EnvDockerdConfig) == "" {
				return nil, fmt.Errorf("regression mode judges your dockerd config: set %s to its daemon.json (a file holding {} for dockerd's defaults)", runtime.EnvDockerdConfig)
			}
		} else {
			opts.ConfigFile = runtime.TemplateConfig
		}
		return runtime.NewDockerd(opts)
	}
	return nil, fmt.Errorf("unknown runtime %q (want containerd or dockerd)", kind)
}

// imageCache builds each workload image once per process (and once per
// source change on disk) and loads it into every sandbox that needs it.
type imageCache struct {
	root, cache string
	built       map[string]workload.Image
	logf        func(string, ...any)
}

func (c *imageCache) load(ctx context.Context, sb runtime.Sandbox, names []string) (map[string]string, error) {
	refs := map[string]string{}
	for _, name := range names {
		img, ok := c.built[name]
		if !ok {
			start := time.Now()
			var err error
			img, err = workload.Build(ctx, c.root, c.cache, name)
			if err != nil {
				return nil, fmt.Errorf("building image %s: %w", name, err)
			}
			how := "built"
			if img.Cached {
				how = "cached"
			}
			c.logf("image %s %s in %s (%s)", img.Ref, how, time.Since(start).Round(time.Millisecond), img.Tar)
			c.built[name] = img
		}
		if err := loadInto(ctx, sb, img); err != nil {
			return nil, fmt.Errorf("loading image %s into %s: %w", img.Ref, sb.Kind(), err)
		}
		refs[name] = img.Ref
	}
	return refs, nil
}

func loadInto(ctx context.Context, sb runtime.Sandbox, img workload.Image) error {
	switch d := sb.(type) {
	case *runtime.DockerdSandbox:
		cli, err := d.Client(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		return workload.LoadDocker(ctx, cli, img)
	case *runtime.ContainerdSandbox:
		if err := workload.LoadContainerd(ctx, sb.Address(), img); err != nil {
			return err
		}
		// A user's config (regression mode) names its own sandbox image,
		// which nothing here can pull: relapse's pause stands in for it.
		if img.Name == pauseImage && d.SandboxImage() != "" && d.SandboxImage() != img.Ref {
			return workload.TagContainerd(ctx, sb.Address(), img.Ref, d.SandboxImage())
		}
		return nil
	default:
		return fmt.Errorf("no image loader for a %s sandbox (%T)", sb.Kind(), sb)
	}
}

// pauseImage is the workload image (images/pause) pods are sandboxed with.
const pauseImage = "pause"

// Logf returns a printf that writes whole lines to w (GinkgoWriter), so
// the harness' narration reads one event per line.
func Logf(w io.Writer) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}

// SpecTimeout bounds a variant's spec: its own timeout plus room for
// sandbox start, image builds and cleanup.
func SpecTimeout(v scenario.Variant) time.Duration {
	t := v.Timeout
	if t == 0 {
		t = 2 * time.Minute
	}
	return t + 5*time.Minute
}

// Explain says in one paragraph why a result is what it is: every budget's
// verdict and what was measured, the error if any, and where the
// diagnostics are.
func Explain(res report.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s, expected %s", res.Verdict, res.Expect)
	if res.Error != "" {
		fmt.Fprintf(&b, "; error: %s", res.Error)
	}
	for _, j := range res.Judgements() {
		fmt.Fprintf(&b, "\n  %s", j)
	}
	if len(res.Diagnostics) > 0 {
		fmt.Fprintf(&b, "\n  diagnostics: %s", strings.Join(res.Diagnostics, ", "))
	}
	return b.String()
}

// RegressionFailure is the message a regression spec fails with: the
// incident, the user's runtime and configuration, every budget with what
// was measured, and where the diagnostics are (absolute paths, to open
// from the terminal).
func RegressionFailure(res report.Result, runDir string) string {
	var b strings.Builder
	// Regression mode runs only with the user's file (the sandbox factory
	// refuses to start without one), and the sandbox reports its path.
	fmt.Fprintf(&b, "%s came back on your %s %s (config %v): verdict %s, want hold",
		res.Incident, res.Runtime, res.Version, res.Config["user_config"], res.Verdict)
	if res.Error != "" {
		fmt.Fprintf(&b, "\n  error: %s", res.Error)
	}
	for _, j := range res.Judgements() {
		fmt.Fprintf(&b, "\n  %s", j)
	}
	if len(res.Diagnostics) == 0 {
		fmt.Fprintf(&b, "\n  diagnostics: none captured; series and charts in %s", filepath.Join(runDir, res.Name()))
	} else {
		fmt.Fprintf(&b, "\n  diagnostics: %s", filepath.Join(runDir, filepath.Dir(res.Diagnostics[0])))
		for _, d := range res.Diagnostics {
			fmt.Fprintf(&b, "\n    %s", filepath.Base(d))
		}
	}
	return b.String()
}
