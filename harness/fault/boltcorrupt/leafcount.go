package boltcorrupt

import "fmt"

// absurdCount is the element count leaf-count writes: the largest a page
// header holds, far past what fits in any page.
const absurdCount = 0xFFFF

// LeafCount writes an absurd element count into the header of a leaf page
// holding the prefixed keys, so a reader walks its element table far past
// the page into whatever follows.
func LeafCount() Corruption {
	return Corruption{
		name:       "leaf-count",
		desc:       "a damaged page header: a leaf holding the prefixed keys claims 65535 elements (seed picks the leaf)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			leaves, err := t.leavesWithPrefix()
			if err != nil {
				return Result{}, err
			}
			l := leaves[t.rng().IntN(len(leaves))]
			p := t.f.rawPage(l.id)
			h := readPageHeader(p)
			h.count = absurdCount
			h.put(p)
			t.f.markDirty(l.id, 1)
			return Result{
				Pages:  []uint64{l.id},
				Detail: fmt.Sprintf("set the element count of leaf page %d of bucket %s from %d to %d", l.id, pathString(t.opts.Bucket), len(l.keys), absurdCount),
			}, nil
		},
	}
}
