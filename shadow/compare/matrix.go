package compare

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Shape is one kind of query dashboards send, without its time: metrics,
// grouping, interval and the span of the window ending now.
type Shape struct {
	// ID is stable across runs: evidence and coverage are keyed by it.
	ID       string
	Metrics  []string
	GroupBy  []string
	Interval string
	// Span is the window's length; the window ends at the end of the
	// current bucket (5m) or day (1d, total over days).
	Span    time.Duration
	OrderBy string
	Limit   int
	// WholeDays aligns a total's window to UTC days (legacy answers
	// visitors only over whole days).
	WholeDays bool
}

// Window returns the shape's [from, to) at now.
func (s Shape) Window(now time.Time) (from, to time.Time) {
	now = now.UTC()
	switch {
	case s.Interval == query.Interval1d || s.WholeDays:
		to = now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	default:
		to = now.Truncate(5 * time.Minute).Add(5 * time.Minute)
	}
	return to.Add(-s.Span), to
}

// Query is the shape's query for customer at now.
func (s Shape) Query(customer string, now time.Time) *query.Query {
	from, to := s.Window(now)
	return &query.Query{Customer: customer, Metrics: slices.Clone(s.Metrics), GroupBy: slices.Clone(s.GroupBy),
		From: from, To: to, Interval: s.Interval, OrderBy: s.OrderBy, Limit: s.Limit}
}

// ShapeID names a query's shape: everything but the customer and the
// window's position. Matrix shapes and dashboard queries of the same form
// get the same id.
func ShapeID(q *query.Query) string {
	var b strings.Builder
	b.WriteString(strings.Join(sortedCopy(q.Metrics), "+"))
	b.WriteString("/")
	if len(q.GroupBy) == 0 {
		b.WriteString("site")
	} else {
		b.WriteString(strings.Join(sortedCopy(q.GroupBy), "+"))
	}
	b.WriteString("/" + q.Interval + "/" + spanName(q.To.Sub(q.From)))
	if len(q.Filters) > 0 {
		keys := make([]string, 0, len(q.Filters))
		for k := range q.Filters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b.WriteString(fmt.Sprintf("/%s=%s", k, strings.Join(sortedCopy(q.Filters[k]), ",")))
		}
	}
	if q.Limit > 0 {
		b.WriteString(fmt.Sprintf("/top%d%s", q.Limit, q.OrderBy))
	}
	return b.String()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func spanName(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// Matrix is the synthetic query matrix: the shapes dashboards use that both
// systems answer. Metrics are those legacy has (page views; visitors, which
// legacy keeps per post and UTC day only: at 1d and over whole days, not by
// referrer category); groupings are legacy's (none, url, referrer_category,
// both); windows are 5m over the last hour and 24 hours, 1d over 7 and 30
// days; and two top-10s (posts by page views over 24 h; by page views with
// visitors over 7 days).
func Matrix() []Shape {
	groups := [][]string{nil, {query.DimURL}, {query.DimReferrerCategory}, {query.DimURL, query.DimReferrerCategory}}
	windows := []struct {
		interval string
		span     time.Duration
	}{{query.Interval5m, time.Hour}, {query.Interval5m, 24 * time.Hour}, {query.Interval1d, 7 * 24 * time.Hour}, {query.Interval1d, 30 * 24 * time.Hour}}
	var out []Shape
	for _, g := range groups {
		for _, w := range windows {
			out = append(out, Shape{Metrics: []string{query.Pageviews}, GroupBy: g, Interval: w.interval, Span: w.span})
		}
	}
	for _, g := range groups[:2] {
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
		out[i].ID = ShapeID(out[i].Query("", time.Unix(0, 0)))
	}
	return out
}

// MatrixIDs lists the matrix's shape ids.
func MatrixIDs() []string {
	var ids []string
	for _, s := range Matrix() {
		ids = append(ids, s.ID)
	}
	return ids
}
