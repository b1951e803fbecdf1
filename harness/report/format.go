package report

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/relapse-dev/relapse/harness/results"
)

// relURL turns a path relative to the run directory into a relative URL,
// each segment escaped; the "./" keeps a colon in a name from reading as a
// URL scheme.
func relURL(p string) string {
	if strings.HasPrefix(p, "/") {
		return (&url.URL{Path: p}).EscapedPath()
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "./" + strings.Join(segs, "/")
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// seconds formats a duration in seconds for a table cell.
func seconds(s float64) string {
	if s >= 120 {
		m := math.Floor(s / 60)
		return strconv.FormatFloat(m, 'f', 0, 64) + "m" + strconv.FormatFloat(s-60*m, 'f', 0, 64) + "s"
	}
	return results.Number(s) + "s"
}
