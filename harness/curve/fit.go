package curve

// Fit is a robust line fit y = Intercept + Slope·x with a confidence
// interval [Lo, Hi] on the slope.
type Fit struct {
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	// Confidence is the interval's two-sided confidence level, e.g. 0.95.
	Confidence float64 `json:"confidence"`
	// N is the number of points fitted.
	N int `json:"n"`
}
