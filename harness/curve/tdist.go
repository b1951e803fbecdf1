package curve

import "math"

// studentT returns t such that P(T > t) = p for Student's t with df degrees
// of freedom (df may be fractional, as an effective sample size is). It
// bisects the regularized incomplete beta on u = df/(df+t²), where the tail
// is monotone, so extreme tails (p ~ 1e-6 at df 1) are as exact as any.
func studentT(p, df float64) float64 {
	switch {
	case p <= 0:
		return math.Inf(1)
	case p >= 0.5:
		return 0
	case df <= 0:
		return math.Inf(1)
	}
	lo, hi := 0.0, 1.0 // tail(u) = I_u(df/2, 1/2)/2 grows with u
	for i := 0; i < 100; i++ {
		mid := (lo + hi) / 2
		if incBeta(df/2, 0.5, mid)/2 < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	u := (lo + hi) / 2
	if u <= 0 {
		return math.Inf(1)
	}
	return math.Sqrt(df * (1 - u) / u)
}

// incBeta is the regularized incomplete beta function I_x(a, b), by the
// continued fraction (Numerical Recipes' betacf) on the side where it
// converges fast.
func incBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	nonzero := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1/nonzero(1-qab*x/qap)
	h := d
	// step applies one term of the modified Lentz recurrence and returns
	// the factor it multiplied h by.
	step := func(aa float64) float64 {
		d = 1 / nonzero(1+aa*d)
		c = nonzero(1 + aa/c)
		h *= d * c
		return d * c
	}
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		step(fm * (b - fm) * x / ((qam + 2*fm) * (a + 2*fm)))
		if del := step(-(a + fm) * (qab + fm) * x / ((a + 2*fm) * (qap + 2*fm))); math.Abs(del-1) < 1e-14 {
			break
		}
	}
	return h
}
