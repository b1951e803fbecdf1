package boltcorrupt

import (
	"fmt"
	"slices"
)

// flipCount is how many bytes flip-bytes changes.
const flipCount = 16

// FlipBytes XORs seeded random bytes in the page headers and element tables
// of the bucket's pages: bit rot or a torn sector inside the B-tree's
// structure, where bbolt, which keeps no page checksums, takes garbage for
// page ids, counts, offsets and lengths.
func FlipBytes() Corruption {
	return Corruption{
		name:       "flip-bytes",
		desc:       fmt.Sprintf("bit rot: %d seeded random bytes flipped in the headers and element tables of the bucket's pages (prefix unused)", flipCount),
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			if err := t.needPages(); err != nil {
				return Result{}, err
			}
			pages := t.bucketPages()
			rng := t.rng()
			type spot struct {
				page uint64
				off  int
			}
			done := map[spot]bool{}
			var touched []uint64
			for len(done) < flipCount {
				id := pages[rng.IntN(len(pages))]
				p := t.f.rawPage(id)
				h := readPageHeader(p)
				// The header but its overflow field (unused by readers),
				// then the element table as far as it fits in the page.
				structure := min(pageHeaderSize+int(h.count)*leafElemSize, len(p))
				off := rng.IntN(structure - 4)
				if off >= 12 {
					off += 4
				}
				s := spot{id, off}
				if done[s] {
					continue
				}
				done[s] = true
				p[off] ^= byte(1 + rng.IntN(255))
				t.f.markDirty(id, 1)
				touched = append(touched, id)
			}
			slices.Sort(touched)
			touched = slices.Compact(touched)
			return Result{
				Pages:  touched,
				Detail: fmt.Sprintf("flipped %d bytes in the headers and element tables of pages %s of bucket %s", flipCount, pageList(touched), pathString(t.opts.Bucket)),
			}, nil
		},
	}
}
