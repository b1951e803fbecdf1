package runtime

import (
	"cmp"
	"strconv"
	"strings"
)

// CompareVersions orders runtime versions the way releases are numbered:
// "1.7.9" before "1.7.18", "20.10.5+dfsg1" before "20.10.10". Numeric parts
// compare as numbers, anything else as text, and a version that is a prefix
// of another comes first. It is what a matrix uses to tell whether a version
// predates a fix, and what reports sort by.
func CompareVersions(a, b string) int {
	pa, pb := strings.FieldsFunc(a, versionSep), strings.FieldsFunc(b, versionSep)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil:
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(pa), len(pb))
}

func versionSep(r rune) bool { return r == '.' || r == '-' || r == '+' || r == '~' }
