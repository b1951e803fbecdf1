package report

import (
	"math"
	"strconv"
	"strings"
)

// scale is how a quantity is shown: values are divided by div and suffixed.
type scale struct {
	div    float64
	suffix string
}

var (
	binaryScales = []scale{{1, "B"}, {1 << 10, "KiB"}, {1 << 20, "MiB"}, {1 << 30, "GiB"}, {1 << 40, "TiB"}}
	siScales     = []scale{{1, ""}, {1e3, "k"}, {1e6, "M"}, {1e9, "G"}, {1e12, "T"}}
)

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
func pickScale(v float64, bytes bool) scale {
	v = math.Abs(v)
	if bytes {
		s := binaryScales[0]
		for _, c := range binaryScales {
			if v >= c.div {
				s = c
			}
		}
		return s
	}
	if v < 1e4 {
		return siScales[0]
	}
	s := siScales[0]
	for _, c := range siScales {
		if v >= c.div {
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
	num := sig3(v / sc.div)
	switch {
	case bytes:
		return num + " " + sc.suffix + per
	case base == "":
		return num + sc.suffix + per
	default:
		return num + sc.suffix + " " + base + per
	}
}

// sig3 prints v with at most three significant digits and no exponent for
// the ranges a scaled quantity lands in.
func sig3(v float64) string {
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

// seconds formats a duration in seconds for a table cell.
func seconds(s float64) string {
	if s >= 120 {
		m := math.Floor(s / 60)
		return strconv.FormatFloat(m, 'f', 0, 64) + "m" + strconv.FormatFloat(s-60*m, 'f', 0, 64) + "s"
	}
	return sig3(s) + "s"
}
