// Package scenarios is relapse's catalog: one line per incident. Each
// incident lives in its own directory, scenarios/<id>/, named by its id;
// adding one is that directory, its workload image under images/, a line
// here and a row in the README's track record.
package scenarios

import (
	"github.com/relapse-dev/relapse/harness/incident"
	containerdexecsyncdrainleak "github.com/relapse-dev/relapse/scenarios/containerd-execsync-drain-leak"
	containerdhugelogline "github.com/relapse-dev/relapse/scenarios/containerd-huge-log-line"
	dockerdattachleak "github.com/relapse-dev/relapse/scenarios/dockerd-attach-leak"
	dockerdboltdbcorrupt "github.com/relapse-dev/relapse/scenarios/dockerd-boltdb-corrupt"
	dockerdkilldstate "github.com/relapse-dev/relapse/scenarios/dockerd-kill-dstate"
	dockerdrestorehang "github.com/relapse-dev/relapse/scenarios/dockerd-restore-hang"
	phptmpfiledentry "github.com/relapse-dev/relapse/scenarios/php-tmpfile-dentry"
)

// All returns every incident relapse reproduces, validated and sorted by
// id. A malformed declaration is a programming error the first test run
// catches, so it panics with the reason.
func All() incident.Catalog {
	cat, err := incident.NewCatalog(
		containerdexecsyncdrainleak.Incident(),
		containerdhugelogline.Incident(),
		dockerdattachleak.Incident(),
		dockerdboltdbcorrupt.Incident(),
		dockerdkilldstate.Incident(),
		dockerdrestorehang.Incident(),
		phptmpfiledentry.Incident(),
	)
	if err != nil {
		panic(err)
	}
	return cat
}
