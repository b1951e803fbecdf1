package boltcorrupt

import "fmt"

// BadFreelist overwrites the freelist page's count with garbage: the
// header's count says "see the first element" (0xFFFF) and that element
// claims 2^56 or more free pages, as a freelist page overwritten by another
// page's bytes would. bbolt reads the freelist on every read-write open.
func BadFreelist() Corruption {
	return Corruption{
		name: "bad-freelist",
		desc: "a garbage freelist page: it claims 2^56 or more free page ids (seeded), read by every read-write open (bucket and prefix unused)",
		opts: DefaultOptions(),
		apply: func(t *target) (Result, error) {
			id := t.meta.freelist
			if id == noFreelist {
				return Result{}, fmt.Errorf("%s keeps no freelist page (written with NoFreelistSync): nothing for bad-freelist to damage", t.f.path)
			}
			p, err := t.f.page(id)
			if err != nil {
				return Result{}, fmt.Errorf("freelist page %d: %w", id, err)
			}
			h := readPageHeader(p)
			if h.flags != freelistPageFlag {
				return Result{}, fmt.Errorf("freelist page %d has flags %#x (%s): the file is already damaged", id, h.flags, pageType(h.flags))
			}
			old := int(h.count)
			if old == 0xFFFF {
				old = int(le.Uint64(p[pageHeaderSize:]))
			}
			h.count = 0xFFFF
			h.put(p)
			claim := (t.rng().Uint64() | 1<<56) &^ (1 << 63)
			le.PutUint64(p[pageHeaderSize:], claim)
			t.f.markDirty(id, 1)
			return Result{
				Pages:  []uint64{id},
				Detail: fmt.Sprintf("freelist page %d now claims %d free pages (it held %d)", id, claim, old),
			}, nil
		},
	}
}
