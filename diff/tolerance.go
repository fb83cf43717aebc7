package diff

import "math"

// Tolerance says how far apart two values of one metric may be and still
// agree. For values l and r, scale = max(|l|, |r|), the allowed distance is
// the largest of
//
//	Absolute
//	Relative × scale
//	StdErrors × √(eL² + eR²) × scale
//
// where eL and eR are the relative standard errors the two answers state for
// the metric (answer.approximate.<metric>.relative_std_error; 0 for an exact
// metric). When neither answer states one, RelativeStdError is assumed for
// the comparison instead (the sketch's known precision, e.g. HLLStdError(m)).
//
// The zero Tolerance is exact. DefaultTolerance is exact for every metric
// that no answer calls approximate (counts: pageviews, engaged_seconds,
// video_starts) and allows 3 standard errors for approximate ones.
type Tolerance struct {
	Absolute         float64 `json:"absolute,omitempty"`
	Relative         float64 `json:"relative,omitempty"`
	StdErrors        float64 `json:"std_errors,omitempty"`
	RelativeStdError float64 `json:"relative_std_error,omitempty"`
}

// DefaultStdErrors is the number of standard errors DefaultTolerance allows
// for approximate metrics: two estimates of one true value land further apart
// by chance in about 0.3% of comparisons.
const DefaultStdErrors = 3

// DefaultTolerance is the tolerance of metrics Options.Tolerances leaves out.
func DefaultTolerance() Tolerance { return Tolerance{StdErrors: DefaultStdErrors} }

// HLLStdError is the relative standard error of a HyperLogLog sketch with m
// registers, 1.04/√m (Flajolet et al.); Redis uses m = 16384, about 0.81%.
func HLLStdError(m int) float64 {
	if m <= 0 {
		return 0
	}
	return 1.04 / math.Sqrt(float64(m))
}

// metricPlan is the precomputed tolerance of one metric in one comparison:
// allowed = max(abs, factor × scale).
type metricPlan struct {
	abs, factor float64
}

// plan combines the tolerance with the errors the two sides state.
func (t Tolerance) plan(eL, eR float64) metricPlan {
	sigma := math.Sqrt(eL*eL + eR*eR)
	if sigma == 0 {
		sigma = t.RelativeStdError
	}
	return metricPlan{abs: t.Absolute, factor: max(t.Relative, t.StdErrors*sigma)}
}

// Allowed is the largest distance between l and r within the tolerance when
// the two sides state relative standard errors eL and eR.
func (t Tolerance) Allowed(l, r, eL, eR float64) float64 {
	return t.plan(eL, eR).allowed(l, r)
}

func (p metricPlan) allowed(l, r float64) float64 {
	return max(p.abs, p.factor*max(math.Abs(l), math.Abs(r)))
}

// resolveTolerance returns the tolerance for metric m: the configured one or
// DefaultTolerance.
func resolveTolerance(tols map[string]Tolerance, m string) Tolerance {
	if t, ok := tols[m]; ok {
		return t
	}
	return DefaultTolerance()
}
