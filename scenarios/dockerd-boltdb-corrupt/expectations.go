package dockerdboltdbcorrupt

import (
	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
)

// expectation is what one corruption does to dockerd 20.10.24's start, as
// measured (see the package comment).
type expectation struct {
	verdict curve.Verdict
	why     string
	// attempts is more than one only for a fault whose outcome races
	// inside the daemon, with the odds in why.
	attempts int
	// affected, when set, are the dockerd releases the verdict is a breach
	// on (a hold on all others): a newer dockerd measured to behave
	// otherwise is a finding, recorded here with its evidence.
	affected incident.Ranges
}

// expectations is every corruption's measured behaviour, by name. A
// corruption added to boltcorrupt's Registry needs its entry here before it
// can be a variant: a verdict is a measurement, never a guess. A function,
// not a package variable, so no run can alter another's.
func expectations() map[string]expectation {
	return map[string]expectation{
		"truncate": {verdict: curve.Hold, why: "the freelist page is cut off: bbolt panics (\"invalid freelist page: 0, page type is unknown\"), dockerd exits 2 ~1.4 s into the restart at its usual size"},
		"zero-page": {verdict: curve.Breach, why: "a zeroed leaf that a listing's cursor walks into reads as a page that sends the cursor back into the bucket: the same endless walk (Cursor.first -> pageNode), 300-440 MB/s; " +
			"a lookup descending straight into it panics instead (\"invalid page type: 0: 0\", exit 2, held at 73 MiB: 2 of 9 attempts when any endpoint leaf could be zeroed), so the zeroed leaf is one no lookup lands on; " +
			"dockerd still dies of a \"fatal error: fault\" first in 2 of 18 attempts on the reference machine (2026-12-02, 16 loops; 1 in 16 before; cause not found, the zeroed leaf no different), so the suite allows a second attempt", attempts: 2,
			affected: incident.Ranges{{Before: "26.1.5", Note: "finding: the bbolt of 26.1.5 and 28.5.2 checks a page's id on read and panics at once " +
				"(\"Page expected to be: 8, but self identifies as 0\", exit 2 in ~3 s) with dockerd at 84.3 MiB (26.1.5) and 72.1 MiB (28.5.2) where 20.10.24 grew to 592 MiB " +
				"(run track-zero-page, 2026-11-30); releases between 20.10.24 and 26.1.5 are not measured"}}},
		"flip-bytes":      {verdict: curve.Hold, why: "bit rot in page headers: libnetwork cannot decode a record (exit 1) or bbolt panics (exit 2) ~1.4 s into the restart, depending on the page layout"},
		"leaf-count":      {verdict: curve.Hold, why: "a leaf claiming 65535 elements runs the cursor off its page: \"slice bounds out of range\" panic, exit 2 ~1.4 s in"},
		"bad-freelist":    {verdict: curve.Hold, why: "a freelist claiming ~2^60 free pages: the Go runtime's \"fatal error: out of memory\" at open, exit 2 ~0.4 s in, before RSS grows"},
		"meta-wrong-root": {verdict: curve.Breach, why: "the store opens cleanly on the wrong tree: dockerd is up ~0.5 s in with every user network silently gone"},
		"meta-checksums":  {verdict: curve.Hold, why: "both metas fail their checksum: bbolt refuses the file and dockerd exits 1 (\"checksum error\") ~1.4 s in"},
		"self-cycle":      {verdict: curve.Hold, why: "a branch element pointing at its own page: bbolt's \"assertion failed: write: circular dependency occurred\" panic, exit 2 ~1.4 s in"},
		"cycle-loop": {verdict: curve.Breach, why: "the incident: a forward B-tree cycle returns one leaf's endpoints forever; dockerd grows 1.2-1.4 GB/s from ~1 s into its start until the 2 GiB guard (~2.2 s); " +
			"in 1 of 7 runs on the reference machine libnetwork's sandboxCleanup, deleting the killed containers' endpoints before the listing, rebalanced into the loop page and bbolt asserted (\"read: zero-length inode key\", exit 2) instead: " +
			"whether a deletion rebalances there depends on the population's random ids, so the suite allows a second attempt", attempts: 2},
	}
}
