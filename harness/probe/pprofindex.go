package probe

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
)

// indexGoroutineRow matches the goroutine row of net/http/pprof's index page
// (/debug/pprof/) in the forms Go has written it: since Go 1.16
// "<tr><td>N</td><td><a href='goroutine?debug=1'>goroutine</a>", before
// that with an unquoted href, and before Go 1.12 as
// "<tr><td align=right>N<td><a href=\"goroutine?debug=1\">goroutine</a>".
var indexGoroutineRow = regexp.MustCompile(`<td[^>]*>\s*(\d+)\s*(?:</td>)?\s*<td>\s*<a href=['"]?goroutine\?debug=1['"]?>goroutine</a>`)

// maxIndex bounds how much of an index page is read: a real one is under
// 4 KiB.
const maxIndex = 64 << 10

// parseIndexGoroutines reads the goroutine count from a pprof index page.
// The index takes it from runtime.NumGoroutine, the same count as the
// goroutine profile's total (system goroutines excluded from both), but
// costs the daemon no stack walk and no symbolization: a few hundred
// microseconds less of its CPU at every sample. found is false when the
// page has no such row (not an index, or a format this does not know).
func parseIndexGoroutines(r io.Reader) (n int, found bool, err error) {
	page, err := io.ReadAll(io.LimitReader(r, maxIndex))
	if err != nil {
		return 0, false, err
	}
	_, _ = io.Copy(io.Discard, r)
	// The row is matched in a window around its link only: the pattern,
	// run over the whole ~3 KiB page, cost the caller 50-90 µs a sample on
	// this VM.
	for off := 0; ; {
		i := bytes.Index(page[off:], indexGoroutineLink)
		if i < 0 {
			return 0, false, nil
		}
		i += off
		window := page[max(0, i-indexRowBefore):min(len(page), i+len(indexGoroutineLink)+indexRowAfter)]
		if m := indexGoroutineRow.FindSubmatch(window); m != nil {
			n, err = strconv.Atoi(string(m[1]))
			if err != nil {
				return 0, false, nil
			}
			return n, true, nil
		}
		off = i + len(indexGoroutineLink)
	}
}

// indexGoroutineLink is the part of the goroutine row every format shares.
var indexGoroutineLink = []byte("goroutine?debug=1")

// indexRowBefore and indexRowAfter bound the goroutine row around its
// link: the longest form puts ~40 bytes and the count's digits before it
// and ~20 after.
const (
	indexRowBefore = 128
	indexRowAfter  = 64
)
