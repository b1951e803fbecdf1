// Package incidents_test reproduces every incident in scenarios/ against real
// runtimes: each vulnerable variant must breach its budgets (the incident is
// back, diagnostics captured), each fixed variant must hold them.
//
// Labels: the incident id and the runtime on every spec, so
// `--label-filter=containerd-huge-log-line` or `--label-filter=dockerd` pick
// a subset; `make reproduce INCIDENT=<id>` does exactly that.
//
// With RELAPSE_MATRIX set (`make matrix RUNTIMES=...`) the suite is a
// version matrix instead: every variant that does not pin a version runs
// once on each listed runtime build, labelled with the cell (e.g.
// containerd-1.7.18), and all cells go into one report.
package incidents_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/report"
	"github.com/relapse-dev/relapse/harness/scenario"
	"github.com/relapse-dev/relapse/scenarios"
	"github.com/relapse-dev/relapse/suites/suite"
)

func TestIncidents(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "relapse incidents")
}

// run is the suite's one runner: made in BeforeSuite, closed in
// ReportAfterSuite (Ginkgo's own lifecycle is the only global state).
var run = suite.Lifecycle(false)

var _ = func() bool {
	cells, err := matrix()
	if err != nil {
		// A bad RUNTIMES list stops the suite before any spec runs; Ginkgo
		// prints the message.
		panic(err)
	}
	for _, s := range scenarios.All() {
		if cells == nil {
			Describe(s.ID, Label(s.ID), func() { variantSpecs(s, s.Variants) })
			continue
		}
		for _, c := range cells {
			if vs := s.InCell(c); len(vs) > 0 {
				Describe(s.ID+" on "+c.String(), Label(s.ID, c.String()), func() { variantSpecs(s, vs) })
			}
		}
	}
	return true
}()

// matrix returns the cells of a matrix run (RELAPSE_MATRIX), or nil for a
// run of every variant on its own runtime.
func matrix() ([]scenario.Cell, error) {
	list := os.Getenv(scenario.EnvMatrix)
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	cells, err := scenario.ParseCells(list)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", scenario.EnvMatrix, list, err)
	}
	return cells, nil
}

// variantSpecs declares one spec per variant: it runs the variant and
// asserts the verdict it must give.
func variantSpecs(s scenario.Scenario, vs []scenario.Variant) {
	for _, v := range vs {
		It(variantTitle(v), Label(append([]string{string(s.RuntimeOf(v))}, v.Labels...)...), func(ctx SpecContext) {
			By("running " + s.ID + "/" + report.VariantDirName(v.Name, v.Cell) + ": " + v.Why)
			res, err := run().Runner.Run(ctx, s, v)
			if err != nil {
				Fail(fmt.Sprintf("%s could not run to a verdict: %v", res.Name(), err))
			}
			Expect(res.Verdict).To(Equal(string(v.Expect)), "%s on %s %s: %s",
				res.Name(), res.Runtime, res.Version, suite.Explain(res))
		}, SpecTimeout(suite.SpecTimeout(v)), FlakeAttempts(max(v.Attempts, 1)))
	}
}

func variantTitle(v scenario.Variant) string {
	if v.Expect == curve.Breach {
		return v.Name + " reproduces the incident (breach)"
	}
	return v.Name + " holds its budgets"
}
