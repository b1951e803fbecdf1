package engine

import (
	"cmp"
	"slices"

	"github.com/relapse-dev/relapse/harness/results"
)

// SideBySide orders items for a run in several processes at once (relapse
// run -jobs, ginkgo -procs): the items that may share the machine, longest
// first, then the ones that run alone (Item.Alone), in plan order.
// Longest first, so the last items to finish are short ones and no
// process idles long at the end. An item's length is its wall time in a
// recent run (walls, from PastWalls); items no recent run timed go first,
// by their timeout (the drive's cap and the setup allowance: 11 min for a
// kill loop, 9 for a power loss), which ranks incidents but cannot tell a
// 15 s power loss from a 40 s one.
func SideBySide(items []Item, walls results.Walls) (shared, alone []Item) {
	for _, it := range items {
		if it.Alone() {
			alone = append(alone, it)
		} else {
			shared = append(shared, it)
		}
	}
	slices.SortStableFunc(shared, func(a, b Item) int {
		wa, timedA := walls[a.Name()]
		wb, timedB := walls[b.Name()]
		if timedA != timedB {
			if timedA {
				return 1
			}
			return -1
		}
		if timedA {
			return cmp.Compare(wb, wa)
		}
		return cmp.Compare(b.Timeout(), a.Timeout())
	})
	return shared, alone
}

// PastWalls are the items' wall times in the newest runs under the results
// directory root, for SideBySide; a run that cannot be read is said and
// left out.
func PastWalls(root string, items []Item, logf func(string, ...any)) results.Walls {
	walls, err := results.RecentWalls(root, recentRuns)
	if err != nil {
		logf("ordering by past wall times without some runs: %v", err)
	}
	timed := 0
	for _, it := range items {
		if _, ok := walls[it.Name()]; ok {
			timed++
		}
	}
	switch timed {
	case len(items):
		logf("longest first, by their wall time in the newest runs in %s", root)
	case 0:
		logf("longest first, by their timeout: no recent run in %s timed them", root)
	default:
		logf("longest first: %d of the %d by their wall time in the newest runs in %s, the others (first) by their timeout", timed, len(items), root)
	}
	return walls
}

// recentRuns is how many of the newest runs PastWalls reads: enough to
// find every incident of a suite run one incident at a time.
const recentRuns = 20
