package boltcorrupt

import (
	"bytes"
	"fmt"
	"sort"
)

// SelfCycle aims the element of the bucket's root branch page that a cursor
// seeking the prefix descends through at that branch page itself. bbolt's
// Cursor.Seek recurses through branch pages, so seeking the prefix recurses
// until the stack overflows; First and Next descend in a loop instead, and
// grow the cursor's stack without end when the element is the first one.
func SelfCycle() Corruption {
	return Corruption{
		name:       "self-cycle",
		desc:       "a branch element pointing at its own page, on the path a cursor seeking the prefix takes: Seek recurses to a stack overflow (seed unused)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			if err := t.needPages(); err != nil {
				return Result{}, err
			}
			if len(t.bucket.branches) == 0 {
				return Result{}, fmt.Errorf("%s: bucket %s has a single leaf page (%d keys) and no branch page to loop: put more keys in it", t.f.path, pathString(t.opts.Bucket), t.bucket.keys)
			}
			root := t.bucket.branches[0] // the walk visits the root first
			i := seekIndex(root.elems, []byte(t.opts.Prefix))
			setBranchChild(t.f, root.id, i, root.id)
			return Result{
				Pages:  []uint64{root.id},
				Detail: fmt.Sprintf("branch page %d (root of bucket %s) element %d (key %q) now points at page %d itself instead of page %d", root.id, pathString(t.opts.Bucket), i, root.elems[i].key, root.id, root.elems[i].child),
			}, nil
		},
	}
}

// CycleLoop is the dockerd-boltdb-corrupt incident's damage: a forward cycle
// in the bucket's B-tree that a cursor walks into and never leaves. A new
// branch page P past the high-water mark holds two elements, [first key of
// leaf L -> L] and [last key of L + "z" -> P]; the element of L's parent that
// pointed at L now points at P; both metas' high-water mark becomes P+1, with
// their checksums recomputed. A cursor reaching L returns L's keys, moves to
// P's second element, descends into P again and returns L's keys again, its
// stack one level deeper each round: a prefix listing (libkv's boltdb List)
// never ends and grows memory until OOM. L is a leaf whose keys all carry the
// prefix, so the listing's HasPrefix check never stops it.
func CycleLoop() Corruption {
	return Corruption{
		name:       "cycle-loop",
		desc:       "a forward B-tree cycle (the dockerd-boltdb-corrupt incident): a cursor listing the prefix returns one leaf's keys forever (seed picks the leaf)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			leaves, err := t.leavesAllPrefixed()
			if err != nil {
				return Result{}, err
			}
			l := leaves[t.rng().IntN(len(leaves))]
			first, last := l.keys[0], l.keys[len(l.keys)-1]
			loopKey := append(bytes.Clone(last), 'z')

			hwm := t.meta.pgid
			for i, m := range t.f.metas {
				if t.f.metaErrs[i] == nil {
					hwm = max(hwm, m.pgid)
				}
			}
			p := hwm
			need := pageHeaderSize + 2*branchElemSize + len(first) + len(loopKey)
			if need > t.f.pageSize {
				return Result{}, fmt.Errorf("%s: the loop page needs %d bytes for keys %q and %q, more than one %d-byte page", t.f.path, need, first, loopKey, t.f.pageSize)
			}
			t.f.ensurePages(p + 1)
			buf := t.f.rawPage(p)
			clear(buf)
			pageHeader{id: p, flags: branchPageFlag, count: 2}.put(buf)
			keyOff := pageHeaderSize + 2*branchElemSize
			for i, e := range []branchEntry{{key: first, child: l.id}, {key: loopKey, child: p}} {
				off := pageHeaderSize + i*branchElemSize
				le.PutUint32(buf[off:], uint32(keyOff-off))
				le.PutUint32(buf[off+4:], uint32(len(e.key)))
				le.PutUint64(buf[off+8:], e.child)
				keyOff += copy(buf[keyOff:], e.key)
			}
			t.f.markDirty(p, 1)
			setBranchChild(t.f, l.parent, l.parentIndex, p)

			var metas []uint64
			for i := range t.f.metas {
				if t.f.metaErrs[i] != nil {
					continue // bbolt does not read it either
				}
				m := t.f.metas[i]
				m.pgid = p + 1
				t.f.setMeta(i, m)
				metas = append(metas, uint64(i))
			}
			return Result{
				Pages: append([]uint64{p, l.parent}, metas...),
				Detail: fmt.Sprintf("new branch page %d [%q -> leaf %d, %q -> page %d]; branch page %d element %d now points at page %d instead of leaf %d; high-water mark %d -> %d in meta pages %s; a cursor listing %q returns leaf %d's %d keys forever",
					p, first, l.id, loopKey, p, l.parent, l.parentIndex, p, l.id, hwm, p+1, pageList(metas), loopingPrefix(first, last), l.id, len(l.keys)),
			}, nil
		},
	}
}

// seekIndex is the element of a branch page bbolt's Cursor.Seek descends
// through for key (Cursor.searchPage).
func seekIndex(elems []branchEntry, key []byte) int {
	exact := false
	i := sort.Search(len(elems), func(i int) bool {
		c := bytes.Compare(elems[i].key, key)
		if c == 0 {
			exact = true
		}
		return c != -1
	})
	if !exact && i > 0 {
		i--
	}
	return i
}

// setBranchChild points element i of branch page id at child.
func setBranchChild(f *dbFile, id uint64, i int, child uint64) {
	p := f.rawPage(id)
	le.PutUint64(p[pageHeaderSize+i*branchElemSize+8:], child)
	f.markDirty(id, 1)
}

// loopingPrefix is the longest '/'-terminated prefix first and last (and so
// every key between them) share: the narrowest libkv listing that loops.
func loopingPrefix(first, last []byte) string {
	n := 0
	for n < len(first) && n < len(last) && first[n] == last[n] {
		n++
	}
	if i := bytes.LastIndexByte(first[:n], '/'); i >= 0 {
		return string(first[:i+1])
	}
	return string(first[:n])
}
