// Package boltcorrupt damages bbolt database files at the page level, the way
// a power loss, a torn write or bit rot would, so that incidents such as
// dockerd looping forever over a corrupt network/files/local-kv.db can be
// reproduced on demand against real runtimes.
//
// Each Corruption is a named, seeded, deterministic operation on a file that
// no process holds open: the same options and seed always write the same
// bytes. Inspect reads a file's structure (metas, buckets, pages) without
// trusting it, for diagnostics and for tests.
//
// The package reads and writes pages with its own small codec of bbolt's
// on-disk format (version 2, little-endian as written on amd64 and arm64)
// rather than through bbolt itself: bbolt panics or loops on the very files
// this package produces, and the writes it needs (a page past the high-water
// mark, a branch element aimed at the wrong page) are ones bbolt refuses to
// make.
package boltcorrupt
