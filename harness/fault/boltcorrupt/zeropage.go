package boltcorrupt

import "fmt"

// ZeroPage zeroes a leaf page holding the prefixed keys, as a write the disk
// acknowledged but never made (or a hole left by a filesystem journal
// replay) does.
func ZeroPage() Corruption {
	return Corruption{
		name:       "zero-page",
		desc:       "a lost write: a leaf page holding the prefixed keys reads back as zeros (seed picks the leaf)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			leaves, err := t.leavesWithPrefix()
			if err != nil {
				return Result{}, err
			}
			l := leaves[t.rng().IntN(len(leaves))]
			p, err := t.f.page(l.id)
			if err != nil {
				return Result{}, fmt.Errorf("leaf page %d: %w", l.id, err)
			}
			clear(p)
			n := len(p) / t.f.pageSize
			t.f.markDirty(l.id, n)
			return Result{
				Pages:  []uint64{l.id},
				Detail: fmt.Sprintf("zeroed leaf page %d (%d keys, %d page(s)) of bucket %s", l.id, len(l.keys), n, pathString(t.opts.Bucket)),
			}, nil
		},
	}
}
