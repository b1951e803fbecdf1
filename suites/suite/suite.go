// Package suite turns an engine plan into Ginkgo specs: one spec per plan
// item, labelled from the plan, run by one engine per suite process and
// reported as JUnit next to the results. It holds no logic of its own: what
// runs is the plan's, how it runs is the engine's.
package suite

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/engine"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/results"
)

// EnvRules picks the verdict rules the suite judges with (v1, v2, v3; empty:
// curve.DefaultRules), as `relapse run -rules` does.
const EnvRules = "RELAPSE_RULES"

// Specs declares the suite's lifecycle (one engine, opened in BeforeSuite,
// closed in ReportAfterSuite with the JUnit report) and one spec per item
// of the plan the environment selects (engine.FilterFromEnv). Call it once,
// at the top level of a suite.
func Specs(cat incident.Catalog) {
	f, err := engine.FilterFromEnv(os.Getenv)
	if err == nil {
		var p engine.Plan
		p, err = engine.NewPlan(cat, f)
		if err == nil {
			declare(p)
			return
		}
	}
	// A bad selection fails the suite with one line, before anything runs.
	ginkgo.It("selects what to run", func() { ginkgo.Fail(err.Error()) })
}

func declare(p engine.Plan) {
	var (
		eng *engine.Engine
		// run is the run directory the processes' parts merge into when
		// Ginkgo runs the suite in several processes (ginkgo -procs N);
		// empty when one process records the run itself.
		run string
	)
	ginkgo.SynchronizedBeforeSuite(func(ctx ginkgo.SpecContext) []byte {
		if suiteConfig, _ := ginkgo.GinkgoConfiguration(); suiteConfig.ParallelTotal < 2 {
			return nil
		}
		root, err := engine.ResultsDir(os.Getenv("RELAPSE_RESULTS"))
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		dir, err := results.Claim(root, os.Getenv("RELAPSE_RUN_ID"))
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		return []byte(dir)
	}, func(ctx ginkgo.SpecContext, claimed []byte) {
		rules, err := curve.ParseRules(os.Getenv(EnvRules))
		gomega.Expect(err).NotTo(gomega.HaveOccurred(), EnvRules)
		opts := engine.Options{
			Results: os.Getenv("RELAPSE_RESULTS"), RunID: os.Getenv("RELAPSE_RUN_ID"), Logf: Logf(ginkgo.GinkgoWriter), Rules: rules,
		}
		if run = string(claimed); run != "" {
			opts.Results = filepath.Join(run, results.PartsDir)
			opts.RunID = fmt.Sprintf("p%d", ginkgo.GinkgoParallelProcess())
		}
		eng, err = engine.Open(ctx, opts)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		for _, n := range p.NotJudged {
			fmt.Fprintf(ginkgo.GinkgoWriter, "not judged: %s\n", n)
		}
	})
	// With several processes, each closes its part, then the first merges
	// them into the run one process would have recorded.
	ginkgo.SynchronizedAfterSuite(func() {
		if run != "" && eng != nil {
			gomega.Expect(eng.Close()).To(gomega.Succeed())
		}
	}, func() {
		if run != "" {
			_, err := results.MergeParts(run, report.Renderer{})
			gomega.Expect(err).NotTo(gomega.HaveOccurred())
		}
	})
	ginkgo.ReportAfterSuite("results", func(r ginkgo.Report) {
		dir := run
		if dir == "" {
			if eng == nil {
				return
			}
			dir = eng.Dir()
		}
		gomega.Expect(reporters.GenerateJUnitReport(r, filepath.Join(dir, "junit.xml"))).To(gomega.Succeed())
		if run == "" {
			gomega.Expect(eng.Close()).To(gomega.Succeed())
		}
		fmt.Fprintf(os.Stdout, "\nresults: %s\n", dir)
	})
	// One container, so Ginkgo's shuffle (of top-level containers only)
	// leaves the specs in order; specs orders them within it.
	ginkgo.Describe("the plan", func() { specs(sideBySide(p.Items), func() *engine.Engine { return eng }) })
}

// sideBySide orders the items as relapse run -jobs does (engine.SideBySide),
// by their wall times in the newest runs under RELAPSE_RESULTS: with
// several processes, the longest start first; the Serial (alone) ones run
// last anyway.
func sideBySide(items []engine.Item) []engine.Item {
	root, err := engine.ResultsDir(os.Getenv("RELAPSE_RESULTS"))
	if err != nil {
		return items
	}
	shared, alone := engine.SideBySide(items, engine.PastWalls(root, items, Logf(ginkgo.GinkgoWriter)))
	return append(shared, alone...)
}

// specs declares one spec per item, run by the suite's engine, in the
// order of items. Ginkgo orders the specs of a container by code location,
// then by text: every spec here is declared on one line, so each gets the
// location of its place in the order instead ("relapse order:N", for
// shared libraries that make their own nodes), which also says where it
// ran in the output and the JUnit report.
func specs(items []engine.Item, engineOf func() *engine.Engine) {
	for i, it := range items {
		place := types.CodeLocation{FileName: orderLocation, LineNumber: i + 1}
		body := func(ctx ginkgo.SpecContext) {
			ginkgo.By("running " + it.Name() + ": " + it.Why)
			eng := engineOf()
			res, err := eng.Run(ctx, it)
			if err != nil {
				ginkgo.Fail(fmt.Sprintf("%s could not run to a verdict: %v", it.Name(), err))
			}
			if it.UserConfig != "" && res.Verdict != res.Expect {
				ginkgo.Fail(report.RegressionFailure(res, eng.Dir()))
			}
			gomega.Expect(res.Verdict).To(gomega.Equal(res.Expect), "%s on %s %s: %s", it.Name(), res.Runtime, res.Version, report.Explain(res))
		}
		ginkgo.It(it.Name()+" must "+string(it.Expect), append([]any{place, ginkgo.Label(it.Labels()...), body}, decorators(it)...)...)
	}
}

// orderLocation is the file name of the specs' code locations (see specs).
const orderLocation = "relapse order"

// decorators are an item's spec decorators: its timeout and attempts, and
// Serial for an item that needs the machine to itself (in a parallel run
// Ginkgo runs those after the others, one at a time).
func decorators(it engine.Item) []any {
	d := []any{ginkgo.SpecTimeout(it.Timeout()), ginkgo.FlakeAttempts(max(it.Variant.Attempts, 1))}
	if it.Alone() {
		d = append(d, ginkgo.Serial)
	}
	return d
}

// Logf returns a printf that writes whole lines to w (GinkgoWriter), so
// the engine's narration reads one event per line.
func Logf(w io.Writer) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}
