package queryengine

import (
	"fmt"
	"math"

	"github.com/brooksdata/brooks/query"
)

// Distinct metrics (visitors, new_visitors, returning_visitors) are
// Elasticsearch cardinality aggregations over the rollups' visitor-id sets.
// Elasticsearch counts with HyperLogLog++ (server class HyperLogLogPlusPlus):
//
//   - precision_threshold T gives the precision p = bitsRequired(ceil(T/0.75)*4)
//     clamped to [4, 18]: T = 3000 (Elasticsearch's default and ours) gives
//     p = 14, T = 40000 (the maximum) p = 18.
//   - Up to 3/4 of 2^p/4 distinct values (3072 for p = 14, 49152 for p = 18)
//     a bucket stays in linear counting mode: it keeps every value's hash
//     encoded on 32 bits (the top 25 bits of a 64-bit MurmurHash3, plus a
//     run length) in a hash set and estimates m'·ln(m'/(m'−size)) with
//     m' = 2^25. Its only error is hash collisions in the 2^25 space,
//     corrected on average by that estimate: relative standard error
//     sqrt(m'(e^t−t−1))/n ≈ 1/sqrt(2·m') = 0.0122 % (t = n/m'), whatever p;
//     counts of a few thousand are exact in practice.
//   - Above that it is HyperLogLog with m = 2^p registers: relative standard
//     error 1.04/sqrt(m), 0.8125 % for p = 14 (the same as a Redis
//     HyperLogLog) and 0.203 % for p = 18.
//
// A higher threshold buys accuracy above 3072 with time: on long series
// (two years of daily buckets of thousands of visitors) p = 18 makes the
// aggregation about twice as slow, because every bucket's hash set grows to
// tens of thousands of entries.
//
// The answer's "approximate" states the bound that applies: the linear
// counting one when every distinct value in the answer is at most the
// precision threshold, the HyperLogLog one otherwise.
const (
	// DefaultPrecisionThreshold is the cardinality aggregations' default
	// precision_threshold (p = 14).
	DefaultPrecisionThreshold = 3000
	// MaxPrecisionThreshold is Elasticsearch's maximum (p = 18).
	MaxPrecisionThreshold = 40000
	// linearCountingBits is log2 of linear counting's hash space (P2 in
	// Elasticsearch's AbstractLinearCounting).
	linearCountingBits = 25
)

// LinearCountingRSE is the relative standard error of counts at most the
// precision threshold, whatever the threshold.
var LinearCountingRSE = 1 / math.Sqrt(2*math.Exp2(linearCountingBits))

// Precision is the HyperLogLog precision p Elasticsearch uses for a
// precision_threshold (HyperLogLogPlusPlus.precisionFromThreshold).
func Precision(threshold int) int {
	entries := int64(math.Ceil(float64(threshold) / 0.75))
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

// HyperLogLogRSE is the relative standard error of counts above the
// precision threshold: 1.04/sqrt(2^p).
func HyperLogLogRSE(threshold int) float64 {
	return 1.04 / math.Sqrt(math.Exp2(float64(Precision(threshold))))
}

// RelativeStdError returns the relative standard error of a distinct count
// of about n values under a precision threshold.
func RelativeStdError(n float64, threshold int) float64 {
	if n <= float64(threshold) {
		return LinearCountingRSE
	}
	return HyperLogLogRSE(threshold)
}

// Tolerance is the absolute difference from the exact count n within which
// an answer stating relative standard error rse is expected: four standard
// errors, plus one for rounding. Tests and comparers may allow it.
func Tolerance(n, rse float64) float64 {
	return 1 + math.Ceil(4*rse*n)
}

// approxMethod names the estimator in answers.
func approxMethod(threshold int) string {
	p := Precision(threshold)
	return fmt.Sprintf("elasticsearch cardinality: HyperLogLog++ p=%d, linear counting up to %d distinct", p, (1<<p)/4*3/4)
}

// approximations states the error of every distinct metric in the answer,
// from the largest value each took.
func approximations(metrics []string, series []query.Series, threshold int) map[string]query.Approximation {
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
		out[m] = query.Approximation{RelativeStdError: roundSig(RelativeStdError(biggest, threshold)), Method: approxMethod(threshold)}
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
