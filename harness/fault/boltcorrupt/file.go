package boltcorrupt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
)

var (
	errInvalidMagic = errors.New("invalid magic (not a bbolt meta page)")
	errVersion      = errors.New("unsupported bbolt format version")
	errChecksum     = errors.New("meta checksum mismatch")
)

// dbFile is a bbolt file read whole into memory, with the pages changed so
// far. Nothing reaches the disk before flush.
type dbFile struct {
	path     string
	data     []byte
	pageSize int
	metas    [2]meta
	metaErrs [2]error

	dirty      map[uint64]bool // page ids to write back
	truncateTo int64           // new file size, or -1
}

// parseFile decodes the metas of a bbolt file's bytes.
func parseFile(path string, data []byte) (*dbFile, error) {
	f := &dbFile{path: path, data: data, dirty: map[uint64]bool{}, truncateTo: -1}
	if len(data) < pageHeaderSize+metaSize {
		return nil, fmt.Errorf("%s: %d bytes is too short for a bbolt file (want two meta pages)", path, len(data))
	}
	m0 := readMeta(data)
	switch {
	case m0.magic == boltMagic && validPageSize(int(m0.pageSize)):
		f.pageSize = int(m0.pageSize)
	default:
		// Meta 0 cannot tell the page size: find meta 1 at each power of
		// two (bbolt itself tries only the OS page size).
		for ps := 512; ps <= 1<<16; ps <<= 1 {
			if len(data) < ps+pageHeaderSize+metaSize {
				continue
			}
			m1 := readMeta(data[ps:])
			if m1.magic == boltMagic && int(m1.pageSize) == ps {
				f.pageSize = ps
				break
			}
		}
	}
	if f.pageSize == 0 {
		return nil, fmt.Errorf("%s: not a bbolt file: neither meta page has magic %#x", path, boltMagic)
	}
	if len(data) < 2*f.pageSize {
		return nil, fmt.Errorf("%s: %d bytes is shorter than its two %d-byte meta pages", path, len(data), f.pageSize)
	}
	for i := range f.metas {
		f.metas[i] = readMeta(data[i*f.pageSize:])
		f.metaErrs[i] = f.metas[i].validate()
	}
	return f, nil
}

func validPageSize(ps int) bool {
	return ps >= 512 && ps <= 1<<20 && ps&(ps-1) == 0
}

// active returns the index of the meta bbolt would use (the valid one with
// the highest txid, as DB.meta does), or -1 when neither is valid.
func (f *dbFile) active() int {
	a, b := 0, 1
	if f.metas[1].txid > f.metas[0].txid {
		a, b = 1, 0
	}
	switch {
	case f.metaErrs[a] == nil:
		return a
	case f.metaErrs[b] == nil:
		return b
	}
	return -1
}

// activeMeta is active() for callers that need a usable meta.
func (f *dbFile) activeMeta() (meta, error) {
	i := f.active()
	if i < 0 {
		return meta{}, fmt.Errorf("%s: both meta pages are invalid (meta 0: %v; meta 1: %v): the file is already beyond what bbolt opens", f.path, f.metaErrs[0], f.metaErrs[1])
	}
	return f.metas[i], nil
}

// pages is the number of whole pages in the file.
func (f *dbFile) pages() uint64 {
	return uint64(len(f.data) / f.pageSize)
}

// page returns page id and its overflow pages, checking that it lies in the
// file and says it is page id. It does not check the page type.
func (f *dbFile) page(id uint64) ([]byte, error) {
	if id >= f.pages() {
		return nil, fmt.Errorf("page %d is past the end of the file (%d pages)", id, f.pages())
	}
	off := int(id) * f.pageSize
	h := readPageHeader(f.data[off:])
	if h.id != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, h.id)
	}
	end := off + (int(h.overflow)+1)*f.pageSize
	if h.overflow > uint32(f.pages()) || end > len(f.data) {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the end of the file", id, h.overflow)
	}
	return f.data[off:end:end], nil
}

// rawPage returns the bytes of page id alone, whatever they hold.
func (f *dbFile) rawPage(id uint64) []byte {
	off := int(id) * f.pageSize
	return f.data[off : off+f.pageSize : off+f.pageSize]
}

// markDirty records that page id (and n-1 following pages) must be written.
func (f *dbFile) markDirty(id uint64, n int) {
	for i := 0; i < n; i++ {
		f.dirty[id+uint64(i)] = true
	}
}

// ensurePages grows the in-memory file to hold n pages.
func (f *dbFile) ensurePages(n uint64) {
	if want := int(n) * f.pageSize; want > len(f.data) {
		f.data = append(f.data, make([]byte, want-len(f.data))...)
	}
}

// setMeta writes meta i with a freshly computed checksum, as bbolt would.
func (f *dbFile) setMeta(i int, m meta) {
	m.checksum = m.sum()
	f.metas[i] = m
	f.metaErrs[i] = m.validate()
	m.put(f.rawPage(uint64(i)))
	f.markDirty(uint64(i), 1)
}

// loadFile reads path whole. The file must not be open in bbolt read-write
// mode elsewhere: bbolt holds an exclusive flock then, and so does this
// package while it writes.
func loadFile(path string) (*dbFile, *os.File, error) {
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open bbolt file: %w", err)
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = fh.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, fmt.Errorf("%s is locked by a process that has it open (bbolt takes a flock): stop the runtime before corrupting its store", path)
		}
		return nil, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		_ = fh.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := parseFile(path, data)
	if err != nil {
		_ = fh.Close()
		return nil, nil, err
	}
	return f, fh, nil
}

// flush writes the dirty pages (and the truncation) to fh and syncs it.
func (f *dbFile) flush(fh *os.File) error {
	if f.truncateTo >= 0 {
		if err := fh.Truncate(f.truncateTo); err != nil {
			return fmt.Errorf("truncate %s to %d bytes: %w", f.path, f.truncateTo, err)
		}
	}
	ids := make([]uint64, 0, len(f.dirty))
	for id := range f.dirty {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		off := int64(id) * int64(f.pageSize)
		if f.truncateTo >= 0 && off >= f.truncateTo {
			continue
		}
		if _, err := fh.WriteAt(f.rawPage(id), off); err != nil {
			return fmt.Errorf("write page %d of %s: %w", id, f.path, err)
		}
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	return nil
}
