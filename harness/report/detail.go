package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/results"
)

// evalDetail is an evaluation's detail for people, in the metric's unit.
// curve writes its Detail with %g for the record (5.5979847640790835e+07),
// which is exact but unreadable on a page; the numbers it names are in the
// Evaluation, so the sentence is rebuilt from them. A detail it cannot
// rebuild (why a budget was inconclusive) keeps its words, its long
// numbers shortened.
func evalDetail(e curve.Evaluation, metricUnit string) string {
	b := e.Budget
	q := func(v float64) string { return results.Quantity(v, metricUnit) }
	switch {
	case e.Verdict == curve.Inconclusive:
		return tidyNumbers(e.Detail)
	case b.Kind == curve.Slope && e.Fit != nil:
		return fmt.Sprintf("Theil-Sen fit of %d points, budget %s", e.Fit.N, results.Quantity(b.Max, b.Unit(metricUnit)))
	case b.Kind == curve.Ceiling:
		return fmt.Sprintf("peak %s, ceiling %s", q(e.Measured), q(b.Max))
	case b.Kind == curve.Growth:
		return fmt.Sprintf("peak %s over baseline %s", q(e.Measured), q(e.Baseline))
	case b.Kind == curve.Residual:
		win := b.SettleWindow
		if win == 0 {
			win = 3 // curve.Evaluate's default settle window
		}
		return fmt.Sprintf("median of the last %ss is %s above baseline %s", results.Number(win), q(e.Measured), q(e.Baseline))
	}
	return tidyNumbers(e.Detail)
}

// longNumber is a decimal number in text: digits with a fraction or an
// exponent. Its neighbours are checked by tidyNumbers, as RE2 has no
// look-around.
var longNumber = regexp.MustCompile(`-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`)

// tidyNumbers shortens every number in s that has a fraction or exponent
// and more than four significant digits to results.Number's three, and
// leaves the rest alone: integers (pids, counts, byte sizes) are exact and
// short enough, and a version such as 1.7.18 is not a number.
func tidyNumbers(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range longNumber.FindAllStringIndex(s, -1) {
		lit := s[m[0]:m[1]]
		if !strings.ContainsAny(lit, ".eE") || partOfWord(s, m[0], m[1]) || significantDigits(lit) <= 4 {
			continue
		}
		v, err := strconv.ParseFloat(lit, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(results.Quantity(v, ""))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// partOfWord says whether s[from:to] continues a version, an identifier or
// a dotted name: a letter, digit, '_' or '.' before it, or a '.' and a digit
// after it (1.7.18). A unit may follow: "1.23456s" is a number of seconds.
func partOfWord(s string, from, to int) bool {
	if from > 0 {
		c := s[from-1]
		if c == '.' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return true
		}
	}
	return to+1 < len(s) && (s[to] == '.' || s[to] == '_') && s[to+1] >= '0' && s[to+1] <= '9'
}

// significantDigits counts the significant digits of a decimal literal's
// mantissa.
func significantDigits(lit string) int {
	mant, _, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(lit, "-")), "e")
	digits := strings.TrimLeft(strings.ReplaceAll(mant, ".", ""), "0")
	if strings.Contains(mant, ".") {
		return len(digits)
	}
	return len(strings.TrimRight(digits, "0"))
}

// configValue prints a config knob as set: integers in full (16384 is a
// byte limit someone typed), other numbers shortened.
func configValue(v any) string {
	f, ok := v.(float64)
	if !ok {
		return fmt.Sprint(v)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return results.Number(f)
}
