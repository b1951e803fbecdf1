package boltcorrupt

import (
	"fmt"
	"strings"
)

// Registry returns every corruption this package knows, with default
// options, in a stable order: the cheap failures first, the incident's
// cycle last. It returns fresh values, so callers may change them freely.
func Registry() []Corruption {
	return []Corruption{
		Truncate(),
		ZeroPage(),
		FlipBytes(),
		LeafCount(),
		BadFreelist(),
		MetaWrongRoot(),
		MetaChecksums(),
		SelfCycle(),
		CycleLoop(),
	}
}

// Names lists the names Registry knows, in its order.
func Names() []string {
	var names []string
	for _, c := range Registry() {
		names = append(names, c.Name())
	}
	return names
}

// ByName returns the corruption called name with default options, so that
// a scenario or a command line can name one as a string.
func ByName(name string) (Corruption, error) {
	for _, c := range Registry() {
		if c.Name() == name {
			return c, nil
		}
	}
	return Corruption{}, fmt.Errorf("unknown bbolt corruption %q: valid names are %s", name, strings.Join(Names(), ", "))
}
