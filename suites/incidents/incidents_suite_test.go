// Package incidents_test reproduces every incident in scenarios/ against real
// runtimes: each vulnerable variant must breach its budgets (the incident is
// back, diagnostics captured), each fixed variant must hold them.
//
// Labels: the incident id and the runtime on every spec, so
// `--label-filter=containerd-huge-log-line` or `--label-filter=dockerd` pick
// a subset; `make reproduce INCIDENT=<id>` does exactly that.
package incidents_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/harness/curve"
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
var run *suite.Run

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	run, err = suite.Start(ctx, suite.Logf(GinkgoWriter), false)
	Expect(err).NotTo(HaveOccurred())
})

var _ = ReportAfterSuite("results", func(r Report) {
	if run != nil {
		Expect(run.Finish(r)).To(Succeed())
	}
})

var _ = func() bool {
	for _, s := range scenarios.All() {
		Describe(s.ID, Label(s.ID), func() {
			for _, v := range s.Variants {
				It(variantTitle(v), Label(append([]string{string(s.RuntimeOf(v))}, v.Labels...)...), func(ctx SpecContext) {
					By("running " + s.ID + "/" + v.Name + ": " + v.Why)
					res, err := run.Runner.Run(ctx, s, v)
					Expect(err).NotTo(HaveOccurred(), "%s/%s could not run to a verdict", s.ID, v.Name)
					Expect(res.Verdict).To(Equal(string(v.Expect)), "%s/%s on %s %s: %s",
						s.ID, v.Name, res.Runtime, res.Version, suite.Explain(res))
				}, SpecTimeout(suite.SpecTimeout(v)))
			}
		})
	}
	return true
}()

func variantTitle(v scenario.Variant) string {
	if v.Expect == curve.Breach {
		return v.Name + " reproduces the incident (breach)"
	}
	return v.Name + " holds its budgets"
}
