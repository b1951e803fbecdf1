package dockerdboltdbcorrupt

import (
	"context"
	"fmt"
	"os"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/fault/crash"
	"github.com/relapse-dev/relapse/harness/fault/powerloss"
	"github.com/relapse-dev/relapse/harness/incident"
)

// recovered is the incident's documented workaround applied to its worst
// damage: the cycle is in local-kv.db, and local-kv.db is removed before
// the restart.
func recovered() incident.Variant {
	return incident.Variant{
		Name:   "recovered",
		Expect: curve.Hold,
		Why:    "the documented workaround, removing local-kv.db before the restart, brings dockerd up at its usual size (at the price of the user networks, recorded as dockerd_networks_lost)",
		// No networks-lost budget: losing them is the workaround's known cost.
		Budgets: []curve.Budget{startupRSSBudget(), startupRateBudget(), startupWaitBudget()},
		Sandbox: sandbox(),
		Timeout: timeout,
		Case: powerloss.Case{
			Spec:      population(),
			Image:     pauseImage,
			Damage:    crash.Bolt(boltcorrupt.CycleLoop(), crash.LocalKV),
			AfterLoss: removeLocalKV,
			BootFor:   bootFor,
			Tail:      tail,
		},
	}
}

// removeLocalKV is the workaround: dockerd recreates an empty store at its
// next start.
func removeLocalKV(_ context.Context, env *incident.Env, dataRoot string) error {
	p := crash.LocalKV(dataRoot)
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("workaround: remove %s: %w", p, err)
	}
	env.Logf("workaround: removed %s (dockerd recreates it; the user networks are gone with it)", p)
	return nil
}
