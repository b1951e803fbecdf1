package boltcorrupt

import (
	"bytes"
	"fmt"
)

// ZeroPage zeroes a leaf page holding the prefixed keys, as a write the disk
// acknowledged but never made (or a hole left by a filesystem journal
// replay) does.
//
// Where the damage is met decides what a bbolt without page checks does: a
// cursor walking on from the previous leaf (First, Next) takes the zeroed
// page for a branch and descends through its zero element to page 0 and on,
// forever (now and then the daemon dies of a fault instead, cause not
// found); a lookup descending straight into it (Seek, Get, Delete) panics
// ("invalid page type: 0: 0"). So the seed picks among the leaves only a
// walk enters when there are any (see walkedOnly), and among all leaves
// holding the prefix otherwise.
func ZeroPage() Corruption {
	return Corruption{
		name:       "zero-page",
		desc:       "a lost write: a leaf page holding the prefixed keys reads back as zeros (seed picks the leaf, one that a listing's cursor walks into rather than seeks into when there is one)",
		opts:       DefaultOptions(),
		usesBucket: true,
		apply: func(t *target) (Result, error) {
			leaves, err := t.leavesWithPrefix()
			if err != nil {
				return Result{}, err
			}
			if walked := t.walkedOnly(leaves); len(walked) > 0 {
				leaves = walked
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

// walkedOnly returns the leaves of candidates that no lookup of a listing
// prefix descends into. A lookup of key k descends into the leaf whose range
// [its key in the parent branch, the next leaf's key) holds k. A daemon lists
// by '/'-ended prefixes (dockerd: "endpoint/<network id>/" per network,
// "endpoint_count/", "network/"), and a prefix sorts before every key it
// starts, so a leaf whose own key and whose successor's key both start with
// the prefix and the same next segment (one network's endpoints) holds no
// such prefix but longer ones inside that segment: only a cursor listing the
// segment, walking on from an earlier leaf, enters it. Which lookup comes
// first is the daemon's business (dockerd lists its networks in map order),
// so leaves a lookup could enter are left out rather than ranked.
func (t *target) walkedOnly(candidates []*leafNode) []*leafNode {
	prefix := []byte(t.opts.Prefix)
	next := make(map[*leafNode]*leafNode, len(t.bucket.leaves))
	for i, l := range t.bucket.leaves[:max(len(t.bucket.leaves)-1, 0)] {
		next[l] = t.bucket.leaves[i+1]
	}
	var out []*leafNode
	for _, l := range candidates {
		s := next[l]
		if s == nil {
			continue
		}
		k, sk := t.entryKey(l), t.entryKey(s)
		if k == nil || sk == nil || !bytes.HasPrefix(k, prefix) {
			continue
		}
		if g := nextSegment(k, len(prefix)); g > 0 && bytes.HasPrefix(sk, k[:g]) {
			out = append(out, l)
		}
	}
	return out
}

// entryKey is leaf l's key in its parent branch page (bbolt keeps it equal
// to the leaf's first key when it writes both), or nil for a root leaf.
func (t *target) entryKey(l *leafNode) []byte {
	for _, b := range t.bucket.branches {
		if b.id == l.parent && l.parentIndex < len(b.elems) {
			return b.elems[l.parentIndex].key
		}
	}
	return nil
}
