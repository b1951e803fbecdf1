// Package regression_test judges the user's runtime, not relapse's
// variants: every incident that declares a regression variant runs its
// workload on the runtime and configuration the user is about to roll out
// (RELAPSE_CONTAINERD_CONFIG / RELAPSE_DOCKERD_CONFIG, RELAPSE_CONTAINERD /
// RELAPSE_DOCKERD) and must hold its budgets. A breach fails the spec with
// the incident, the budget, the measured slope and the diagnostics path.
//
// `make regression CONTAINERD_CONFIG=/etc/containerd/config.toml` runs it;
// a containerd config with max_container_log_line_size = -1 fails, 16384
// passes. Incidents without a regression variant (a corrupted store, a
// kernel accounting effect) are not a matter of the runtime's configuration;
// `make regression` lists them first (`relapse check -regression`).
package regression_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/scenarios"
	"github.com/relapse-dev/relapse/suites/suite"
)

func TestRegression(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "relapse regression")
}

// run is the suite's one runner, in regression mode.
var run = suite.Lifecycle(true)

var _ = func() bool {
	for _, s := range scenarios.All() {
		v, ok := s.RegressionVariant()
		if !ok {
			continue
		}
		kind := s.RuntimeOf(v)
		It(s.ID+" holds its budgets on your "+string(kind), Label(s.ID, string(kind)), func(ctx SpecContext) {
			By("running " + s.ID + " (" + v.Name + "'s workload and budgets) on your " + string(kind) + " configuration")
			res, err := run().Runner.Run(ctx, s, v)
			if err != nil {
				Fail(fmt.Sprintf("%s could not run to a verdict on your %s: %v", s.ID, kind, err))
			}
			if res.Verdict != string(curve.Hold) {
				Fail(suite.RegressionFailure(res, run().Results.Dir()))
			}
		}, SpecTimeout(suite.SpecTimeout(v)))
	}
	return true
}()
