// Package incidents_test runs relapse's plan under Ginkgo: every incident
// variant against real, private runtimes, one spec per plan item. A
// vulnerable variant must breach its budgets (the incident is back,
// diagnostics captured), a fixed one must hold them.
//
// The environment selects the plan exactly as `relapse plan` would:
// RELAPSE_INCIDENT, RELAPSE_VARIANT, RELAPSE_RUNTIMES (a matrix) and, with
// RELAPSE_REGRESSION=1, the user's RELAPSE_CONTAINERD_CONFIG /
// RELAPSE_DOCKERD_CONFIG (regression mode: the config must hold). Specs
// carry the plan's labels (incident id, runtime, cell, "regression", the
// variant's own), so --label-filter works too.
package incidents_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/relapse-dev/relapse/scenarios"
	"github.com/relapse-dev/relapse/suites/suite"
)

func TestIncidents(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "relapse incidents")
}

var _ = func() bool { suite.Specs(scenarios.All()); return true }()
