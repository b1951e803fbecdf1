package boltcorrupt

import (
	"bytes"
	"fmt"
	"strings"
)

// tree is one bucket's B+tree as found on disk. The walk that builds it never
// trusts the file: every page is checked to lie in the file and below the
// high-water mark, to say it is the page it was reached as, to be a branch or
// a leaf whose elements fit in it, and to be reached once only, so a damaged
// file yields problems instead of a panic or an endless loop.
type tree struct {
	path     []string
	root     uint64 // root page, or 0 for an inline bucket
	inlineIn uint64 // for an inline bucket, the leaf page holding it
	sequence uint64
	branches []*branchNode
	leaves   []*leafNode // in key order
	keys     int         // key/value pairs, nested buckets not counted
	depth    int         // levels from the root page to the leaves
	children []*tree
	problems []string
}

// branchNode is a branch page of a tree.
type branchNode struct {
	id     uint64
	parent uint64 // 0 for the tree's root page
	elems  []branchEntry
}

// branchEntry is one element of a branch page: the first key of a child.
type branchEntry struct {
	key   []byte
	child uint64
}

// leafNode is a leaf page of a tree (or an inline bucket's embedded page).
type leafNode struct {
	id          uint64 // 0 when inline
	parent      uint64 // branch page pointing here, 0 for a root leaf
	parentIndex int    // element index in parent
	used        int    // bytes of the page in use, header included
	keys        [][]byte
	isBucket    []bool
}

// walker walks the trees of one file.
type walker struct {
	f    *dbFile
	hwm  uint64
	seen map[uint64]uint64 // page -> page that referenced it first
}

// walkFile walks the whole file from meta m and returns the root bucket's
// tree, nested buckets under children.
func walkFile(f *dbFile, m meta) *tree {
	w := &walker{f: f, hwm: m.pgid, seen: map[uint64]uint64{}}
	return w.walkTree(nil, m.root, nil, 0)
}

// walkTree walks a bucket rooted at page root, or, when root is 0, the
// inline page embedded in its value.
func (w *walker) walkTree(path []string, root uint64, inline []byte, inlineIn uint64) *tree {
	t := &tree{path: path, root: root, inlineIn: inlineIn}
	if root == 0 {
		if len(inline) < pageHeaderSize {
			t.problem("inline bucket value holds %d bytes, too few for a page header", len(inline))
			return t
		}
		h := readPageHeader(inline)
		if h.flags != leafPageFlag {
			t.problem("inline bucket page has flags %#x (%s), want a leaf", h.flags, pageType(h.flags))
			return t
		}
		w.walkLeaf(t, 0, inline, h, 0, 0)
		t.depth = 1
		return t
	}
	w.walkPage(t, root, 0, 0, 1)
	return t
}

func (t *tree) problem(format string, args ...any) {
	where := "root bucket"
	if len(t.path) > 0 {
		where = "bucket " + pathString(t.path)
	}
	t.problems = append(t.problems, where+": "+fmt.Sprintf(format, args...))
}

// walkPage walks page id, reached from element index of page parent.
func (w *walker) walkPage(t *tree, id, parent uint64, index, depth int) {
	switch {
	case id < 2:
		t.problem("page %d (from page %d) is a meta page", id, parent)
		return
	case id >= w.hwm:
		t.problem("page %d (from page %d) is at or past the high-water mark %d", id, parent, w.hwm)
		return
	}
	if first, ok := w.seen[id]; ok {
		t.problem("page %d is referenced again from page %d (first from page %d): a cycle or a shared page", id, parent, first)
		return
	}
	w.seen[id] = parent
	p, err := w.f.page(id)
	if err != nil {
		t.problem("%v (from page %d)", err, parent)
		return
	}
	h := readPageHeader(p)
	if depth > t.depth {
		t.depth = depth
	}
	switch h.flags {
	case branchPageFlag:
		w.walkBranch(t, id, p, h, parent, depth)
	case leafPageFlag:
		w.walkLeaf(t, id, p, h, parent, index)
	default:
		t.problem("page %d (from page %d) has flags %#x (%s), want a branch or a leaf", id, parent, h.flags, pageType(h.flags))
	}
}

func (w *walker) walkBranch(t *tree, id uint64, p []byte, h pageHeader, parent uint64, depth int) {
	if pageHeaderSize+int(h.count)*branchElemSize > len(p) {
		t.problem("branch page %d: %d elements do not fit in %d bytes", id, h.count, len(p))
		return
	}
	if h.count == 0 {
		t.problem("branch page %d has no elements", id)
	}
	b := &branchNode{id: id, parent: parent}
	for i := 0; i < int(h.count); i++ {
		off := pageHeaderSize + i*branchElemSize
		pos, ksize := int(le.Uint32(p[off:])), int(le.Uint32(p[off+4:]))
		child := le.Uint64(p[off+8:])
		if off+pos+ksize > len(p) {
			t.problem("branch page %d element %d: key [%d,%d) runs past the page", id, i, off+pos, off+pos+ksize)
			return
		}
		b.elems = append(b.elems, branchEntry{key: bytes.Clone(p[off+pos : off+pos+ksize]), child: child})
	}
	t.branches = append(t.branches, b)
	for i, e := range b.elems {
		w.walkPage(t, e.child, id, i, depth+1)
	}
}

func (w *walker) walkLeaf(t *tree, id uint64, p []byte, h pageHeader, parent uint64, index int) {
	if pageHeaderSize+int(h.count)*leafElemSize > len(p) {
		t.problem("leaf page %d: %d elements do not fit in %d bytes", id, h.count, len(p))
		return
	}
	l := &leafNode{id: id, parent: parent, parentIndex: index, used: pageHeaderSize + int(h.count)*leafElemSize}
	type nested struct {
		name  []byte
		value []byte
	}
	var subs []nested
	for i := 0; i < int(h.count); i++ {
		off := pageHeaderSize + i*leafElemSize
		flags := le.Uint32(p[off:])
		pos, ksize, vsize := int(le.Uint32(p[off+4:])), int(le.Uint32(p[off+8:])), int(le.Uint32(p[off+12:]))
		end := off + pos + ksize + vsize
		if end > len(p) {
			t.problem("leaf page %d element %d: key and value [%d,%d) run past the page", id, i, off+pos, end)
			return
		}
		l.used = max(l.used, end)
		key := bytes.Clone(p[off+pos : off+pos+ksize])
		l.keys = append(l.keys, key)
		isBucket := flags&bucketLeafFlag != 0
		l.isBucket = append(l.isBucket, isBucket)
		if isBucket {
			subs = append(subs, nested{name: key, value: p[off+pos+ksize : end]})
		} else {
			t.keys++
		}
	}
	t.leaves = append(t.leaves, l)
	for _, s := range subs {
		path := append(append([]string(nil), t.path...), string(s.name))
		if len(s.value) < bucketHeaderLen {
			t.problem("nested bucket %q in leaf page %d: value of %d bytes is too short for a bucket header", s.name, id, len(s.value))
			continue
		}
		root := le.Uint64(s.value)
		var inline []byte
		if root == 0 {
			inline = s.value[bucketHeaderLen:]
		}
		child := w.walkTree(path, root, inline, id)
		child.sequence = le.Uint64(s.value[8:])
		t.children = append(t.children, child)
	}
}

// all returns t and every bucket under it, depth first.
func (t *tree) all() []*tree {
	out := []*tree{t}
	for _, c := range t.children {
		out = append(out, c.all()...)
	}
	return out
}

// find returns the bucket at path under t, or nil.
func (t *tree) find(path []string) *tree {
	if len(path) == 0 {
		return t
	}
	for _, c := range t.children {
		if c.path[len(c.path)-1] == path[0] {
			return c.find(path[1:])
		}
	}
	return nil
}

// allProblems returns the problems of t and every bucket under it.
func (t *tree) allProblems() []string {
	var out []string
	for _, b := range t.all() {
		out = append(out, b.problems...)
	}
	return out
}

// pathString renders a bucket path for people: names quoted when they hold
// the separator or are empty.
func pathString(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('/')
		}
		if p == "" || strings.ContainsAny(p, "/ \"") {
			fmt.Fprintf(&b, "%q", p)
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}
