package boltcorrupt

import "fmt"

// MetaWrongRoot aims the root bucket of both metas at the target bucket's
// own root page and recomputes the checksums, so the file opens cleanly and
// every top-level bucket, the target included, is silently gone: the data
// loss a meta page written against the wrong tree gives.
func MetaWrongRoot() Corruption {
	return Corruption{
		name:       "meta-wrong-root",
		desc:       "a meta page written against the wrong tree: both metas' root is the bucket's own root page, checksums valid, so the store opens with its buckets gone (prefix and seed unused)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			if err := t.needPages(); err != nil {
				return Result{}, err
			}
			var changed []uint64
			for i := range t.f.metas {
				if t.f.metaErrs[i] != nil {
					continue // bbolt does not read it either
				}
				m := t.f.metas[i]
				m.root = t.bucket.root
				t.f.setMeta(i, m)
				changed = append(changed, uint64(i))
			}
			return Result{
				Pages:  changed,
				Detail: fmt.Sprintf("meta pages %s: root bucket moved from page %d to page %d, the root of bucket %s; checksums recomputed", pageList(changed), t.meta.root, t.bucket.root, pathString(t.opts.Bucket)),
			}, nil
		},
	}
}

// MetaChecksums breaks the checksum of both metas, as a torn write across
// both meta pages does: bbolt refuses to open the file.
func MetaChecksums() Corruption {
	return Corruption{
		name: "meta-checksums",
		desc: "both meta pages torn: their checksums no longer match, so bbolt refuses to open the file (bucket and prefix unused)",
		opts: DefaultOptions(),
		apply: func(t *target) (Result, error) {
			rng := t.rng()
			for i := range t.f.metas {
				p := t.f.rawPage(uint64(i))
				sum := le.Uint64(p[metaChecksumOff:])
				le.PutUint64(p[metaChecksumOff:], sum^(rng.Uint64()|1))
				t.f.markDirty(uint64(i), 1)
			}
			return Result{
				Pages:  []uint64{0, 1},
				Detail: "flipped seeded bits in the checksum of meta pages 0 and 1",
			}, nil
		},
	}
}
