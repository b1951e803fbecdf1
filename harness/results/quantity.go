package results

import (
	"math"
	"strconv"
	"strings"
)

// Scale is how quantities of one size are shown: values are divided by
// Div and labelled with Suffix ("MiB", "k"). Chart axes use it to label
// every tick in one scale, the one Quantity would pick for the largest.
type Scale struct {
	Div    float64
	Suffix string
	// bytes puts a space before the suffix: "200 MiB" but "12k".
	bytes bool
}

// Label appends the scale's suffix to a number already divided by Div.
func (s Scale) Label(num string) string {
	if s.bytes {
		return num + " " + s.Suffix
	}
	return num + s.Suffix
}

// ScaleOf picks the scale for values up to |v| of unit (its "/s" or "/op"
// part aside).
func ScaleOf(v float64, unit string) Scale {
	base, _ := splitUnit(unit)
	return pickScale(v, isBytes(base))
}

func scales(bytes bool) []Scale {
	if bytes {
		return []Scale{{1, "B", true}, {1 << 10, "KiB", true}, {1 << 20, "MiB", true}, {1 << 30, "GiB", true}, {1 << 40, "TiB", true}}
	}
	return []Scale{{1, "", false}, {1e3, "k", false}, {1e6, "M", false}, {1e9, "G", false}, {1e12, "T", false}}
}

// isBytes says whether a metric unit counts bytes, which people read in
// KiB/MiB/GiB rather than as 9-digit numbers.
func isBytes(unit string) bool {
	return unit == "bytes" || unit == "byte" || unit == "B"
}

// splitUnit splits "bytes/s" into "bytes" and "/s".
func splitUnit(unit string) (base, per string) {
	if i := strings.LastIndex(unit, "/"); i >= 0 {
		return unit[:i], unit[i:]
	}
	return unit, ""
}

// pickScale returns the largest scale that keeps |v| at 1 or more. Counts
// below 10000 stay plain: "4096 goroutines" reads better than "4.1k".
func pickScale(v float64, bytes bool) Scale {
	v = math.Abs(v)
	all := scales(bytes)
	s := all[0]
	if !bytes && v < 1e4 {
		return s
	}
	for _, c := range all {
		if v >= c.Div {
			s = c
		}
	}
	return s
}

// Quantity formats v in unit for people, with three significant digits:
// 5.4e7 "bytes/s" is "51.5 MiB/s", 2 "goroutines/op" is "2 goroutines/op".
func Quantity(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	base, per := splitUnit(unit)
	bytes := isBytes(base)
	sc := pickScale(v, bytes)
	num := Number(v / sc.Div)
	if bytes || base == "" {
		return sc.Label(num) + per
	}
	return sc.Label(num) + " " + base + per
}

// Number prints v with at most three significant digits and no exponent for
// the ranges a scaled quantity lands in.
func Number(v float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	if a < 0.001 {
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	digits := 2 - int(math.Floor(math.Log10(a)))
	if digits < 0 {
		digits = 0
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
