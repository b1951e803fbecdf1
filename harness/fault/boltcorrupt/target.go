package boltcorrupt

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
)

// target is what a corruption aims at: the file, its current meta, and the
// bucket named by the options, walked and found free of damage.
type target struct {
	f      *dbFile
	meta   meta
	root   *tree // the root bucket (all top-level buckets under it)
	bucket *tree
	opts   Options
}

// locate walks f from its current meta and finds the bucket o names, when
// the corruption uses one.
func locate(f *dbFile, o Options, useBucket bool) (*target, error) {
	m, err := f.activeMeta()
	if err != nil {
		return nil, err
	}
	root := walkFile(f, m)
	if !useBucket {
		return &target{f: f, meta: m, root: root, opts: o}, nil
	}
	b := root.find(o.Bucket)
	if b == nil {
		return nil, fmt.Errorf("%s: no bucket %s; the store has buckets: %s", f.path, pathString(o.Bucket), bucketList(root))
	}
	if len(b.problems) > 0 {
		return nil, fmt.Errorf("%s: bucket %s is already damaged, refusing to corrupt it further: %s", f.path, pathString(o.Bucket), summarize(b.problems))
	}
	return &target{f: f, meta: m, root: root, bucket: b, opts: o}, nil
}

// needPages reports an inline bucket, which has no pages of its own.
func (t *target) needPages() error {
	if t.bucket.root == 0 {
		return fmt.Errorf("%s: bucket %s is inline (its %d keys live inside leaf page %d of its parent), so it has no pages of its own to damage: put more data in it (bbolt inlines buckets smaller than a quarter page)",
			t.f.path, pathString(t.opts.Bucket), t.bucket.keys, t.bucket.inlineIn)
	}
	return nil
}

// rng returns the corruption's deterministic random source.
func (t *target) rng() *rand.Rand {
	return rand.New(rand.NewPCG(t.opts.Seed, 0x626f6c74636f7272)) // "boltcorr"
}

// leavesWithPrefix returns the bucket's leaf pages holding at least one
// key/value pair whose key starts with the prefix, or an error naming what
// the bucket does hold.
func (t *target) leavesWithPrefix() ([]*leafNode, error) {
	if err := t.needPages(); err != nil {
		return nil, err
	}
	p := []byte(t.opts.Prefix)
	var out []*leafNode
	for _, l := range t.bucket.leaves {
		for i, k := range l.keys {
			if !l.isBucket[i] && bytes.HasPrefix(k, p) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, t.noLeafError()
	}
	return out, nil
}

// leavesAllPrefixed returns the bucket's leaf pages below a branch page
// whose keys all start with the prefix: the leaves a cursor listing the
// prefix walks through from end to end. Leaves whose keys also share the
// next '/'-terminated segment after the prefix come first in preference
// (for dockerd: one network's endpoints, which is what
// getEndpointsFromStore lists), since a listing of any prefix all of a
// leaf's keys share walks on into that leaf's successor.
func (t *target) leavesAllPrefixed() ([]*leafNode, error) {
	if err := t.needPages(); err != nil {
		return nil, err
	}
	p := []byte(t.opts.Prefix)
	var all, grouped []*leafNode
	for _, l := range t.bucket.leaves {
		if l.parent == 0 || len(l.keys) == 0 {
			continue
		}
		ok := true
		for i, k := range l.keys {
			if l.isBucket[i] || !bytes.HasPrefix(k, p) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		all = append(all, l)
		first, last := l.keys[0], l.keys[len(l.keys)-1]
		if g := nextSegment(first, len(p)); g > 0 && bytes.Equal(first[:g], last[:min(g, len(last))]) {
			grouped = append(grouped, l)
		}
	}
	switch {
	case len(grouped) > 0:
		return grouped, nil
	case len(all) > 0:
		return all, nil
	case t.bucket.root != 0 && len(t.bucket.branches) == 0:
		return nil, fmt.Errorf("%s: bucket %s has a single leaf page (%d keys) and no branch page: a cycle needs a branch page, so put more keys in it",
			t.f.path, pathString(t.opts.Bucket), t.bucket.keys)
	}
	return nil, t.noLeafError()
}

// nextSegment returns the length of key up to and including the first '/'
// at or after from, or 0 when there is none.
func nextSegment(key []byte, from int) int {
	if from > len(key) {
		return 0
	}
	i := bytes.IndexByte(key[from:], '/')
	if i < 0 {
		return 0
	}
	return from + i + 1
}

func (t *target) noLeafError() error {
	var sample string
	for _, l := range t.bucket.leaves {
		for i, k := range l.keys {
			if !l.isBucket[i] {
				sample = fmt.Sprintf(" (its first key is %q)", k)
				break
			}
		}
		if sample != "" {
			break
		}
	}
	return fmt.Errorf("%s: no leaf under bucket %s with keys prefixed %q%s; the store has buckets: %s",
		t.f.path, pathString(t.opts.Bucket), t.opts.Prefix, sample, bucketList(t.root))
}

// bucketPages returns the ids of every page of the bucket itself (branches
// and leaves, nested buckets excluded), in walk order.
func (t *target) bucketPages() []uint64 {
	var ids []uint64
	for _, b := range t.bucket.branches {
		ids = append(ids, b.id)
	}
	for _, l := range t.bucket.leaves {
		ids = append(ids, l.id)
	}
	return ids
}

// bucketList describes every bucket under root for error messages.
func bucketList(root *tree) string {
	const limit = 20
	var parts []string
	for _, b := range root.all()[1:] {
		if len(parts) == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(root.all())-1-limit))
			break
		}
		parts = append(parts, describeBucket(b))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func describeBucket(b *tree) string {
	where := fmt.Sprintf("root page %d", b.root)
	if b.root == 0 {
		where = "inline"
	}
	return fmt.Sprintf("%s (%d keys, %s)", pathString(b.path), b.keys, where)
}

// summarize shortens a list of problems to its first one and a count.
func summarize(problems []string) string {
	if len(problems) == 1 {
		return problems[0]
	}
	return fmt.Sprintf("%s (and %d more)", problems[0], len(problems)-1)
}
