package matrix

import (
	"time"

	"github.com/brooksdata/brooks/query"
)

// Synthetic is the shadow comparer's synthetic query matrix: the shapes
// dashboards use that both systems answer, each over a window ending now
// (Shape.At). Metrics are those legacy has (page views; visitors, which
// legacy keeps per post and UTC day only: at 1d and over whole days, not by
// referrer category); groupings are GroupBys; windows are 5m over the last
// hour and 24 hours, 1d over 7 and 30 days; and two top-10s (posts by page
// views over 24 h; by page views with visitors over 7 days).
func Synthetic() []Shape {
	windows := []struct {
		interval string
		span     time.Duration
	}{{query.Interval5m, time.Hour}, {query.Interval5m, 24 * time.Hour}, {query.Interval1d, 7 * 24 * time.Hour}, {query.Interval1d, 30 * 24 * time.Hour}}
	var out []Shape
	for _, g := range GroupBys {
		for _, w := range windows {
			out = append(out, Shape{Metrics: []string{query.Pageviews}, GroupBy: g, Interval: w.interval, Span: w.span})
		}
	}
	for _, g := range GroupBys[:2] {
		for _, w := range windows[2:] {
			out = append(out, Shape{Metrics: []string{query.Visitors}, GroupBy: g, Interval: w.interval, Span: w.span})
		}
	}
	out = append(out,
		Shape{Metrics: []string{query.Pageviews}, GroupBy: []string{query.DimURL}, Interval: query.IntervalTotal,
			Span: 24 * time.Hour, OrderBy: "-" + query.Pageviews, Limit: 10},
		Shape{Metrics: []string{query.Pageviews, query.Visitors}, GroupBy: []string{query.DimURL}, Interval: query.IntervalTotal,
			Span: 7 * 24 * time.Hour, WholeDays: true, OrderBy: "-" + query.Pageviews, Limit: 10},
	)
	for i := range out {
		out[i].ID = ID(out[i].At("", time.Unix(0, 0)))
	}
	return out
}

// SyntheticIDs lists the synthetic matrix's shape ids.
func SyntheticIDs() []string {
	var ids []string
	for _, s := range Synthetic() {
		ids = append(ids, s.ID)
	}
	return ids
}
