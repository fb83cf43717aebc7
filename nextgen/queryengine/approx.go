package queryengine

import (
	"math"

	"github.com/brooksdata/brooks/query"
)

// Distinct metrics (visitors, new_visitors, returning_visitors) are
// Elasticsearch cardinality aggregations over the rollups' visitor-id sets.
// Elasticsearch counts with HyperLogLog++ (server class HyperLogLogPlusPlus):
//
//   - precision_threshold T gives the precision p = bitsRequired(ceil(T/0.75)*4)
//     clamped to [4, 18]; for T = 40000 (the maximum) p = 18, so the HLL has
//     m = 2^18 registers.
//   - Up to 3/4 of 2^p/4 = 49152 distinct values a bucket stays in linear
//     counting mode: it keeps every value's hash encoded on 32 bits (the top
//     25 bits of a 64-bit MurmurHash3, plus a run length) in a hash set and
//     estimates m'·ln(m'/(m'−size)) with m' = 2^25. Its only error is hash
//     collisions in the 2^25 space, corrected on average by that estimate:
//     relative standard error sqrt(m'(e^t−t−1))/n ≈ 1/sqrt(2·m') = 1.22e-4
//     (t = n/m'), so counts of a few thousand are exact in practice (an
//     absolute error of n/8192 standard deviations).
//   - Above 49152 it is HyperLogLog with m = 2^18 registers: relative
//     standard error 1.04/sqrt(m) = 0.203 %.
//
// The answer's "approximate" states the bound that applies: the linear
// counting one when every distinct value in the answer is at most the
// precision threshold, the HyperLogLog one otherwise.
const (
	// PrecisionThreshold is the cardinality aggregations' precision_threshold
	// (Elasticsearch's maximum).
	PrecisionThreshold = 40000
	// hllPrecision is p for PrecisionThreshold (see precisionFromThreshold).
	hllPrecision = 18
	// linearCountingBits is log2 of linear counting's hash space (P2 in
	// Elasticsearch's AbstractLinearCounting).
	linearCountingBits = 25
	// approxMethod names the estimator in answers.
	approxMethod = "elasticsearch cardinality: HyperLogLog++ p=18, linear counting up to 49152 distinct"
)

// Relative standard errors of the two regimes.
var (
	// LinearCountingRSE applies to counts at most PrecisionThreshold.
	LinearCountingRSE = 1 / math.Sqrt(2*math.Exp2(linearCountingBits))
	// HyperLogLogRSE applies to counts above it.
	HyperLogLogRSE = 1.04 / math.Sqrt(math.Exp2(hllPrecision))
)

// precisionFromThreshold mirrors Elasticsearch's
// HyperLogLogPlusPlus.precisionFromThreshold, so the constants above are
// checked by a test rather than trusted.
func precisionFromThreshold(count int64) int {
	entries := int64(math.Ceil(float64(count) / 0.75))
	p := bitsRequired(entries * 4)
	return max(4, min(p, 18))
}

// bitsRequired is Lucene's PackedInts.bitsRequired for a positive value.
func bitsRequired(v int64) int {
	n := 0
	for v > 0 {
		n++
		v >>= 1
	}
	return max(n, 1)
}

// RelativeStdError returns the relative standard error of a distinct count
// of about n values.
func RelativeStdError(n float64) float64 {
	if n <= PrecisionThreshold {
		return LinearCountingRSE
	}
	return HyperLogLogRSE
}

// Tolerance is the absolute difference from the exact count n within which
// an answer is expected (four standard errors, plus one for rounding): what
// tests and the comparer may allow.
func Tolerance(n float64) float64 {
	return 1 + math.Ceil(4*RelativeStdError(n)*n)
}

// approximations states the error of every distinct metric in the answer,
// from the largest value each took.
func approximations(metrics []string, series []query.Series) map[string]query.Approximation {
	out := map[string]query.Approximation{}
	for _, m := range metrics {
		if !query.IsDistinct(m) {
			continue
		}
		var biggest float64
		for _, s := range series {
			for _, p := range s.Points {
				biggest = max(biggest, p.Values[m])
			}
		}
		out[m] = query.Approximation{RelativeStdError: roundSig(RelativeStdError(biggest)), Method: approxMethod}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// roundSig rounds x up to three significant digits, so a stated error is
// never smaller than the true one.
func roundSig(x float64) float64 {
	if x == 0 {
		return 0
	}
	scale := math.Pow(10, 2-math.Floor(math.Log10(x)))
	return math.Ceil(x*scale) / scale
}
