// Package matrix lists the standard query shapes on which legacy and
// nextgen are compared: every metric both systems answer × no group and
// each of legacy's group-bys × every interval the range allows. It is pure:
// `bin/brooks compare` asks both query APIs each shape and diffs the
// answers; the shadow comparer can build its own matrix from the same
// parts.
//
//	for _, s := range matrix.Standard(from, to) {
//		q := s.Query("acme.example", from, to)
//		...
//	}
package matrix

import (
	"strings"
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

// Shape is one query shape: a metric, a grouping and an interval.
type Shape struct {
	Metric   string
	GroupBy  []string
	Interval string
}

// Name is a short stable name, like "pageviews by url, referrer_category
// per 5m" or "visitors total".
func (s Shape) Name() string {
	var b strings.Builder
	b.WriteString(s.Metric)
	if len(s.GroupBy) > 0 {
		b.WriteString(" by " + strings.Join(s.GroupBy, ", "))
	}
	if s.Interval == query.IntervalTotal {
		b.WriteString(" total")
	} else {
		b.WriteString(" per " + s.Interval)
	}
	return b.String()
}

// Query is the shape's query for customer over [from, to).
func (s Shape) Query(customer string, from, to time.Time) *query.Query {
	return &query.Query{
		Customer: customer, Metrics: []string{s.Metric}, GroupBy: s.GroupBy,
		From: from.UTC(), To: to.UTC(), Interval: s.Interval,
	}
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
				out = append(out, Shape{Metric: m, GroupBy: g, Interval: iv})
			}
		}
	}
	return out
}
