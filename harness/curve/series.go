// Package curve turns sampled metrics into growth curves and judges them
// against budgets: a robust slope fit (Theil-Sen with a rank-based confidence
// interval), per-second and per-op growth, ceilings and residuals, and Gomega
// matchers so suites read as budgets.
package curve

// Point is one sample of one metric: when it was taken (seconds since the
// sampler started), how many stimulus operations had completed by then, and
// the value.
type Point struct {
	T  float64 `json:"t"`
	Op float64 `json:"op"`
	V  float64 `json:"v"`
}

// Series is the raw record of one metric over a run. Reports keep it whole so
// a verdict can be recomputed after a fitting change.
type Series struct {
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Points []Point `json:"points"`
	// Phases marks named moments (e.g. "stimulus", "settle") in seconds since
	// the sampler started, so charts and residual budgets can find them.
	Phases []Phase `json:"phases,omitempty"`
}

// Phase is a named moment in a run.
type Phase struct {
	Name string  `json:"name"`
	T    float64 `json:"t"`
}

// Axis is what a slope is measured against.
type Axis string

const (
	// PerSecond fits value against wall time.
	PerSecond Axis = "s"
	// PerOp fits value against the stimulus op count.
	PerOp Axis = "op"
)

// X returns the point's coordinate on the axis.
func (a Axis) X(p Point) float64 {
	if a == PerOp {
		return p.Op
	}
	return p.T
}

// Len is the number of points.
func (s Series) Len() int { return len(s.Points) }

// PhaseAt returns the time of the named phase and whether it was marked.
func (s Series) PhaseAt(name string) (float64, bool) {
	for _, p := range s.Phases {
		if p.Name == name {
			return p.T, true
		}
	}
	return 0, false
}

// Window returns the points with from <= T < to.
func (s Series) Window(from, to float64) []Point {
	var out []Point
	for _, p := range s.Points {
		if p.T >= from && p.T < to {
			out = append(out, p)
		}
	}
	return out
}

// Max returns the largest value, or 0 for an empty series.
func (s Series) Max() float64 {
	m := 0.0
	for i, p := range s.Points {
		if i == 0 || p.V > m {
			m = p.V
		}
	}
	return m
}

// Growth is the last value minus the first, or 0 for fewer than two points.
func (s Series) Growth() float64 {
	if len(s.Points) < 2 {
		return 0
	}
	return s.Points[len(s.Points)-1].V - s.Points[0].V
}
