package boltcorrupt

import (
	"encoding/binary"
	"hash/fnv"
)

// bbolt's on-disk format, version 2 (go.etcd.io/bbolt internal/common).
// Integers are in the writer's native byte order; every platform dockerd and
// containerd ship on (amd64, arm64) is little-endian.
const (
	boltMagic   uint32 = 0xED0CDAED
	boltVersion uint32 = 2

	pageHeaderSize  = 16 // id u64, flags u16, count u16, overflow u32
	branchElemSize  = 16 // pos u32, ksize u32, pgid u64
	leafElemSize    = 16 // flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderLen = 16 // root pgid u64, sequence u64
	metaSize        = 64 // the meta body, checksum included
	metaSumLen      = 56 // the bytes the checksum covers
	metaChecksumOff = pageHeaderSize + metaSumLen

	branchPageFlag   uint16 = 0x01
	leafPageFlag     uint16 = 0x02
	metaPageFlag     uint16 = 0x04
	freelistPageFlag uint16 = 0x10

	bucketLeafFlag uint32 = 0x01

	// noFreelist is the meta's freelist pgid when the freelist is not
	// persisted (Options.NoFreelistSync).
	noFreelist uint64 = 0xFFFFFFFFFFFFFFFF
)

var le = binary.LittleEndian

// pageHeader is the 16-byte header every page starts with.
type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func readPageHeader(b []byte) pageHeader {
	return pageHeader{
		id:       le.Uint64(b[0:8]),
		flags:    le.Uint16(b[8:10]),
		count:    le.Uint16(b[10:12]),
		overflow: le.Uint32(b[12:16]),
	}
}

func (h pageHeader) put(b []byte) {
	le.PutUint64(b[0:8], h.id)
	le.PutUint16(b[8:10], h.flags)
	le.PutUint16(b[10:12], h.count)
	le.PutUint32(b[12:16], h.overflow)
}

// pageType names a page's flags as bbolt's own tools do.
func pageType(flags uint16) string {
	switch flags {
	case branchPageFlag:
		return "branch"
	case leafPageFlag:
		return "leaf"
	case metaPageFlag:
		return "meta"
	case freelistPageFlag:
		return "freelist"
	}
	return "unknown"
}

// meta is the meta page body that pages 0 and 1 hold; the one with the
// highest txid whose checksum holds is the database's current state.
type meta struct {
	magic    uint32
	version  uint32
	pageSize uint32
	flags    uint32
	root     uint64 // root bucket's root page
	sequence uint64 // root bucket's sequence
	freelist uint64
	pgid     uint64 // high-water mark: first page id past the data
	txid     uint64
	checksum uint64
}

// readMeta decodes the meta in page p (the page's bytes from its header on).
func readMeta(p []byte) meta {
	b := p[pageHeaderSize:]
	return meta{
		magic:    le.Uint32(b[0:4]),
		version:  le.Uint32(b[4:8]),
		pageSize: le.Uint32(b[8:12]),
		flags:    le.Uint32(b[12:16]),
		root:     le.Uint64(b[16:24]),
		sequence: le.Uint64(b[24:32]),
		freelist: le.Uint64(b[32:40]),
		pgid:     le.Uint64(b[40:48]),
		txid:     le.Uint64(b[48:56]),
		checksum: le.Uint64(b[56:64]),
	}
}

// put encodes m into page p, checksum as given.
func (m meta) put(p []byte) {
	b := p[pageHeaderSize:]
	le.PutUint32(b[0:4], m.magic)
	le.PutUint32(b[4:8], m.version)
	le.PutUint32(b[8:12], m.pageSize)
	le.PutUint32(b[12:16], m.flags)
	le.PutUint64(b[16:24], m.root)
	le.PutUint64(b[24:32], m.sequence)
	le.PutUint64(b[32:40], m.freelist)
	le.PutUint64(b[40:48], m.pgid)
	le.PutUint64(b[48:56], m.txid)
	le.PutUint64(b[56:64], m.checksum)
}

// sum is bbolt's meta checksum: FNV-64a over the fields before the checksum.
func (m meta) sum() uint64 {
	var b [pageHeaderSize + metaSize]byte
	m.put(b[:])
	h := fnv.New64a()
	_, _ = h.Write(b[pageHeaderSize : pageHeaderSize+metaSumLen])
	return h.Sum64()
}

// validate mirrors bbolt's Meta.Validate, in its order.
func (m meta) validate() error {
	switch {
	case m.magic != boltMagic:
		return errInvalidMagic
	case m.version != boltVersion:
		return errVersion
	case m.checksum != m.sum():
		return errChecksum
	}
	return nil
}
