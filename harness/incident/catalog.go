package incident

import (
	"fmt"
	"slices"
	"strings"
)

// Catalog is a set of incidents, sorted by id. relapse's own is
// scenarios.All(); a test builds its own from a throwaway incident.
type Catalog []Incident

// NewCatalog validates every incident and sorts them; a duplicate id or an
// invalid declaration is an error naming it.
func NewCatalog(incidents ...Incident) (Catalog, error) {
	c := slices.Clone(incidents)
	slices.SortFunc(c, func(a, b Incident) int { return strings.Compare(a.ID, b.ID) })
	for i, in := range c {
		if err := in.Validate(); err != nil {
			return nil, err
		}
		if i > 0 && c[i-1].ID == in.ID {
			return nil, fmt.Errorf("incident %s declared twice", in.ID)
		}
	}
	return c, nil
}

// IDs returns every incident id, sorted.
func (c Catalog) IDs() []string {
	ids := make([]string, len(c))
	for i, in := range c {
		ids[i] = in.ID
	}
	return ids
}

// ByID returns one incident, or an error listing the known ids.
func (c Catalog) ByID(id string) (Incident, error) {
	for _, in := range c {
		if in.ID == id {
			return in, nil
		}
	}
	return Incident{}, fmt.Errorf("unknown incident %q; known incidents: %s (run `relapse list`)", id, strings.Join(c.IDs(), ", "))
}
