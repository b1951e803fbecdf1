package boltcorrupt

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Report is what Inspect finds in a bbolt file: enough to tell, without
// opening it in bbolt (which may panic or loop on it), which metas are in
// force, where each bucket lives and what is broken.
type Report struct {
	// Path is the file inspected.
	Path string
	// PageSize is the page size from the metas.
	PageSize int
	// FileSize is the file's size in bytes; Pages is FileSize in whole pages.
	FileSize int64
	Pages    uint64
	// Metas are pages 0 and 1.
	Metas [2]MetaInfo
	// Active is the index of the meta bbolt would use, -1 when neither is
	// valid (bbolt refuses to open the file).
	Active int
	// Buckets are every bucket reached from the active meta, nested ones
	// included, depth first in key order.
	Buckets []BucketInfo
	// Problems are the structural damage found on the way: pages past the
	// end or the high-water mark, pages reached twice (cycles), bad page
	// types, elements running past their page.
	Problems []string
}

// MetaInfo is one meta page.
type MetaInfo struct {
	// Page is 0 or 1.
	Page int
	// Err is why bbolt would reject the meta, "" when it is valid.
	Err string
	// Txid is the transaction the meta commits.
	Txid uint64
	// Root is the root bucket's page.
	Root uint64
	// Freelist is the freelist's page (0xFFFFFFFFFFFFFFFF when not kept).
	Freelist uint64
	// HighWater is the first page id past the data (bbolt's meta.pgid).
	HighWater uint64
	// Checksum is the stored checksum.
	Checksum uint64
}

// BucketInfo is one bucket.
type BucketInfo struct {
	// Path is the bucket's path of names from the top level.
	Path []string
	// Root is the bucket's root page, 0 when the bucket is inline.
	Root uint64
	// InlineIn is, for an inline bucket, the leaf page that holds it.
	InlineIn uint64
	// Keys counts the key/value pairs directly in the bucket.
	Keys int
	// Buckets counts the buckets directly nested in it.
	Buckets int
	// Depth is the number of page levels from the root page to the leaves.
	Depth int
	// BranchPages and LeafPages are the bucket's own pages in walk order.
	BranchPages []uint64
	LeafPages   []uint64
}

// Inspect reads the bbolt file at path without trusting it. It fails only
// when the file cannot be read or has no bbolt meta page at all; damage
// inside the file is reported in Report.Problems.
func Inspect(path string) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("inspect bbolt file: %w", err)
	}
	f, err := parseFile(path, data)
	if err != nil {
		return Report{}, fmt.Errorf("inspect bbolt file: %w", err)
	}
	r := Report{
		Path:     path,
		PageSize: f.pageSize,
		FileSize: int64(len(data)),
		Pages:    f.pages(),
		Active:   f.active(),
	}
	for i, m := range f.metas {
		mi := MetaInfo{Page: i, Txid: m.txid, Root: m.root, Freelist: m.freelist, HighWater: m.pgid, Checksum: m.checksum}
		if f.metaErrs[i] != nil {
			mi.Err = f.metaErrs[i].Error()
		}
		r.Metas[i] = mi
	}
	if r.Active < 0 {
		r.Problems = append(r.Problems, "both meta pages are invalid: bbolt refuses to open the file")
		return r, nil
	}
	m := f.metas[r.Active]
	if m.pgid > f.pages() {
		r.Problems = append(r.Problems, fmt.Sprintf("high-water mark %d is past the end of the file (%d pages): the file was truncated", m.pgid, f.pages()))
	}
	root := walkFile(f, m)
	for _, b := range root.all()[1:] {
		bi := BucketInfo{
			Path:     slices.Clone(b.path),
			Root:     b.root,
			InlineIn: b.inlineIn,
			Keys:     b.keys,
			Buckets:  len(b.children),
			Depth:    b.depth,
		}
		for _, br := range b.branches {
			bi.BranchPages = append(bi.BranchPages, br.id)
		}
		if b.root != 0 {
			for _, l := range b.leaves {
				bi.LeafPages = append(bi.LeafPages, l.id)
			}
		}
		r.Buckets = append(r.Buckets, bi)
	}
	r.Problems = append(r.Problems, root.allProblems()...)
	return r, nil
}

// Bucket returns the bucket at path, if the walk reached it.
func (r Report) Bucket(path ...string) (BucketInfo, bool) {
	for _, b := range r.Buckets {
		if slices.Equal(b.Path, path) {
			return b, true
		}
	}
	return BucketInfo{}, false
}

// String renders the report for a diagnostics bundle.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d bytes, %d pages of %d bytes\n", r.Path, r.FileSize, r.Pages, r.PageSize)
	for _, m := range r.Metas {
		state := "valid"
		if m.Err != "" {
			state = m.Err
		}
		active := ""
		if m.Page == r.Active {
			active = " (active)"
		}
		fmt.Fprintf(&b, "meta %d%s: txid %d, root %d, freelist %d, high-water %d: %s\n", m.Page, active, m.Txid, m.Root, m.Freelist, m.HighWater, state)
	}
	for _, bk := range r.Buckets {
		where := fmt.Sprintf("root page %d, depth %d, %d branch and %d leaf pages", bk.Root, bk.Depth, len(bk.BranchPages), len(bk.LeafPages))
		if bk.Root == 0 {
			where = fmt.Sprintf("inline in page %d", bk.InlineIn)
		}
		fmt.Fprintf(&b, "bucket %s: %d keys, %d buckets, %s\n", pathString(bk.Path), bk.Keys, bk.Buckets, where)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	return b.String()
}
