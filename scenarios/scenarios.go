// Package scenarios holds relapse's incidents, one file each. A file declares
// its Scenario and registers it from init; nothing else in the tree needs to
// change to add an incident (its workload image lives in images/).
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"github.com/relapse-dev/relapse/harness/scenario"
)

// registry is filled by init functions only and read-only afterwards.
var registry = map[string]scenario.Scenario{}

// register adds an incident; a duplicate or invalid declaration is a
// programming error caught by the first test run.
func register(s scenario.Scenario) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if _, dup := registry[s.ID]; dup {
		panic(fmt.Sprintf("scenario %s registered twice", s.ID))
	}
	registry[s.ID] = s
}

// All returns every incident, sorted by id.
func All() []scenario.Scenario {
	out := make([]scenario.Scenario, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IDs returns every incident id, sorted.
func IDs() []string {
	var ids []string
	for _, s := range All() {
		ids = append(ids, s.ID)
	}
	return ids
}

// ByID returns one incident, or an error listing the known ids.
func ByID(id string) (scenario.Scenario, error) {
	if s, ok := registry[id]; ok {
		return s, nil
	}
	return scenario.Scenario{}, fmt.Errorf("unknown incident %q; known incidents: %s (run `make list`)", id, strings.Join(IDs(), ", "))
}
