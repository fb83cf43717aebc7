// Package matrix is the one list of query shapes on which legacy and
// nextgen are compared, and the shape ids evidence is keyed by (ID):
//
//   - Standard(from, to): every metric both systems answer × no group and
//     each of legacy's group-bys × every interval the range allows, over
//     one fixed range; `bin/brooks compare` asks both query APIs each shape
//     and diffs the answers;
//   - Synthetic(): the shadow comparer's matrix, shapes dashboards use over
//     windows ending now (Shape.At), with top-N shapes.
//
// It is pure: no I/O.
//
//	for _, s := range matrix.Standard(from, to) {
//		q := s.Query("acme.example", from, to)
//		...
//	}
//	q := matrix.Synthetic()[0].At("acme.example", time.Now())
package matrix

import (
	"time"

	"github.com/brooksdata/brooks/query"
)

// Metrics are the metrics both systems answer.
var Metrics = []string{query.Pageviews, query.Visitors}

// GroupBys are no group and each of legacy's group-bys.
var GroupBys = [][]string{
	nil,
	{query.DimURL},
	{query.DimReferrerCategory},
	{query.DimURL, query.DimReferrerCategory},
}

// Intervals returns the intervals a range allows: 5m and 1d when from and
// to are aligned to them, total always.
func Intervals(from, to time.Time) []string {
	var out []string
	for _, iv := range []string{query.Interval5m, query.Interval1d} {
		step := query.Step(iv)
		if from.UTC().Truncate(step).Equal(from) && to.UTC().Truncate(step).Equal(to) {
			out = append(out, iv)
		}
	}
	return append(out, query.IntervalTotal)
}

// Standard is every shape for the range [from, to): Metrics × GroupBys ×
// Intervals(from, to), in that order.
func Standard(from, to time.Time) []Shape {
	var out []Shape
	for _, m := range Metrics {
		for _, g := range GroupBys {
			for _, iv := range Intervals(from, to) {
				s := Shape{Metrics: []string{m}, GroupBy: g, Interval: iv}
				s.ID = ID(s.Query("", from, to))
				out = append(out, s)
			}
		}
	}
	return out
}
