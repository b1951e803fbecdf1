package calibrate

import "math"

// Rate is k events in n trials with its 95% Wilson score interval, which
// stays inside [0, 1] and is honest near 0, where false-breach rates live.
type Rate struct {
	K  int     `json:"k"`
	N  int     `json:"n"`
	P  float64 `json:"p"`
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// NewRate is k of n with its Wilson interval.
func NewRate(k, n int) Rate {
	r := Rate{K: k, N: n}
	if n == 0 {
		return r
	}
	const z = 1.959963984540054
	nn, p := float64(n), float64(k)/float64(n)
	den := 1 + z*z/nn
	mid := (p + z*z/(2*nn)) / den
	half := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / den
	r.P, r.Lo, r.Hi = p, math.Max(0, mid-half), math.Min(1, mid+half)
	// At none and at all the bound is exact; rounding would leave a lower
	// bound of 1e-18 that prints as "0.00%".
	switch k {
	case 0:
		r.Lo = 0
	case n:
		r.Hi = 1
	}
	return r
}
