package boltcorrupt

import "fmt"

// Truncate cuts the file at the page boundary of a leaf holding the
// prefixed keys, as a power loss does when the file's tail never reached
// the disk: that leaf and every page after it are gone while the metas
// still reach them.
func Truncate() Corruption {
	return Corruption{
		name:       "truncate",
		desc:       "power loss before the file's tail reached disk: the file ends at a page boundary inside the bucket's data (seed picks the leaf)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			leaves, err := t.leavesWithPrefix()
			if err != nil {
				return Result{}, err
			}
			l := leaves[t.rng().IntN(len(leaves))]
			// A leaf is never a meta page, so the cut is always past them.
			t.f.truncateTo = int64(l.id) * int64(t.f.pageSize)
			return Result{
				Pages:  []uint64{l.id},
				Detail: fmt.Sprintf("cut the file from %d to %d bytes (%d pages), at leaf page %d of bucket %s; the metas' high-water mark stays %d", len(t.f.data), t.f.truncateTo, l.id, l.id, pathString(t.opts.Bucket), t.meta.pgid),
			}, nil
		},
	}
}
