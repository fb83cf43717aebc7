package matrix

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Shape is one kind of query, without its customer and time: metrics,
// grouping, interval, and for the synthetic shapes the span of the window
// ending now and the top-N order.
type Shape struct {
	// ID is stable across runs (ID of the shape's query): evidence and
	// coverage are keyed by it.
	ID       string
	Metrics  []string
	GroupBy  []string
	Interval string
	// Span is the window's length for Window and At; the window ends at
	// the end of the current bucket (5m) or day (1d, total over days).
	Span    time.Duration
	OrderBy string
	Limit   int
	// WholeDays aligns a total's window to UTC days (legacy answers
	// visitors only over whole days).
	WholeDays bool
}

// Name is a short stable name, like "pageviews by url, referrer_category
// per 5m" or "visitors total".
func (s Shape) Name() string {
	var b strings.Builder
	b.WriteString(strings.Join(s.Metrics, "+"))
	if len(s.GroupBy) > 0 {
		b.WriteString(" by " + strings.Join(s.GroupBy, ", "))
	}
	if s.Interval == query.IntervalTotal {
		b.WriteString(" total")
	} else {
		b.WriteString(" per " + s.Interval)
	}
	if s.Limit > 0 {
		b.WriteString(fmt.Sprintf(" top %d by %s", s.Limit, s.OrderBy))
	}
	return b.String()
}

// Query is the shape's query for customer over [from, to).
func (s Shape) Query(customer string, from, to time.Time) *query.Query {
	return &query.Query{Customer: customer, Metrics: slices.Clone(s.Metrics), GroupBy: slices.Clone(s.GroupBy),
		From: from.UTC(), To: to.UTC(), Interval: s.Interval, OrderBy: s.OrderBy, Limit: s.Limit}
}

// Window returns the shape's [from, to) at now: Span long, ending at the
// end of the current 5-minute bucket, or of the UTC day for 1d and
// WholeDays.
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

// At is the shape's query for customer over its Window at now.
func (s Shape) At(customer string, now time.Time) *query.Query {
	from, to := s.Window(now)
	return s.Query(customer, from, to)
}

// ID names a query's shape: everything but the customer and the window's
// position. Synthetic shapes and dashboard queries of the same form get
// the same id.
func ID(q *query.Query) string {
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
