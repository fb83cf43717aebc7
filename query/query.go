// Package query defines Brooks' one query language: the JSON query that
// dashboards send through the routing proxy, that legacy answers in part and
// nextgen answers in full, and the answer both return.
//
// A query names a customer, metrics, optional group-by dimensions and
// filters, a half-open UTC time range and an interval:
//
//	{
//	  "customer": "acme.example",
//	  "metrics": ["pageviews", "visitors"],
//	  "group_by": ["url"],
//	  "filters": {"referrer_category": ["search", "social"]},
//	  "from": "2026-11-25T00:00:00Z",
//	  "to": "2026-11-26T00:00:00Z",
//	  "interval": "5m",
//	  "order_by": "-pageviews",
//	  "limit": 10
//	}
//
// Validate checks a query against the language; systems that answer only
// part of it (legacy) check their own abilities after that and reject the
// rest with *UnsupportedError, which the HTTP layer turns into 422.
//
// The HTTP surface is here too, so every system serves it the same way:
// Handler answers POST /v1/query (PathQuery) for an Answerer — decoding,
// the customer check (400 unknown_customer, naming no other customer),
// the error body {"error":{"code","message"}} with the status Classify
// gives each error type — and Client asks any system.
package query

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Metric names of the language.
const (
	Pageviews         = "pageviews"
	Visitors          = "visitors"
	EngagedSeconds    = "engaged_seconds"
	NewVisitors       = "new_visitors"
	ReturningVisitors = "returning_visitors"
	VideoStarts       = "video_starts"
)

// Dimension names of the language.
const (
	DimURL              = "url"
	DimReferrerDomain   = "referrer_domain"
	DimReferrerCategory = "referrer_category"
	DimCampaign         = "campaign"
	DimDevice           = "device"
)

// Interval names of the language.
const (
	Interval5m    = "5m"
	Interval1d    = "1d"
	IntervalTotal = "total"
)

// Metrics lists every metric of the language, in canonical order.
var Metrics = []string{Pageviews, Visitors, EngagedSeconds, NewVisitors, ReturningVisitors, VideoStarts}

// Dimensions lists every dimension of the language, in canonical order.
var Dimensions = []string{DimURL, DimReferrerDomain, DimReferrerCategory, DimCampaign, DimDevice}

// DistinctMetrics are metrics counting distinct visitors: they do not add up
// across buckets and may be approximate.
var DistinctMetrics = []string{Visitors, NewVisitors, ReturningVisitors}

// MaxLimit caps the number of series a query may ask for.
const MaxLimit = 10000

// Query is one question in the language. From is inclusive, To exclusive.
type Query struct {
	Customer string              `json:"customer"`
	Metrics  []string            `json:"metrics"`
	GroupBy  []string            `json:"group_by,omitempty"`
	Filters  map[string][]string `json:"filters,omitempty"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Interval string              `json:"interval"`
	OrderBy  string              `json:"order_by,omitempty"`
	Limit    int                 `json:"limit,omitempty"`
}

// Step returns the bucket width of an interval, or 0 for "total".
func Step(interval string) time.Duration {
	switch interval {
	case Interval5m:
		return 5 * time.Minute
	case Interval1d:
		return 24 * time.Hour
	}
	return 0
}

// BucketStart aligns t to the start of its UTC bucket for interval; for
// "total" it returns from.
func BucketStart(t time.Time, interval string, from time.Time) time.Time {
	step := Step(interval)
	if step == 0 {
		return from.UTC()
	}
	return t.UTC().Truncate(step)
}

// IsDistinct reports whether metric counts distinct visitors.
func IsDistinct(metric string) bool { return slices.Contains(DistinctMetrics, metric) }

// InvalidError says why a query is not valid in the language (HTTP 400).
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid query: %s: %s", e.Field, e.Message)
}

// UnsupportedError says which part of a valid query a system cannot answer
// (HTTP 422).
type UnsupportedError struct {
	System  string
	Message string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s does not support %s", e.System, e.Message)
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks q against the language and normalises it in place: times
// to UTC, metrics and group_by deduplicated, filter values sorted. The
// error is an *InvalidError naming the field at fault.
func (q *Query) Validate() error {
	if strings.TrimSpace(q.Customer) == "" {
		return invalid("customer", "is required")
	}
	if len(q.Metrics) == 0 {
		return invalid("metrics", "at least one metric is required (one of %s)", strings.Join(Metrics, ", "))
	}
	seen := map[string]bool{}
	metrics := q.Metrics[:0:0]
	for _, m := range q.Metrics {
		if !slices.Contains(Metrics, m) {
			return invalid("metrics", "unknown metric %q (known: %s)", m, strings.Join(Metrics, ", "))
		}
		if !seen[m] {
			seen[m] = true
			metrics = append(metrics, m)
		}
	}
	q.Metrics = metrics
	seen = map[string]bool{}
	for _, d := range q.GroupBy {
		if !slices.Contains(Dimensions, d) {
			return invalid("group_by", "unknown dimension %q (known: %s)", d, strings.Join(Dimensions, ", "))
		}
		if seen[d] {
			return invalid("group_by", "dimension %q appears twice", d)
		}
		seen[d] = true
	}
	for d, vals := range q.Filters {
		if !slices.Contains(Dimensions, d) {
			return invalid("filters", "unknown dimension %q (known: %s)", d, strings.Join(Dimensions, ", "))
		}
		if len(vals) == 0 {
			return invalid("filters", "dimension %q has no values", d)
		}
		sort.Strings(vals)
	}
	if q.From.IsZero() {
		return invalid("from", "is required (RFC 3339, UTC)")
	}
	if q.To.IsZero() {
		return invalid("to", "is required (RFC 3339, UTC)")
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if !q.To.After(q.From) {
		return invalid("to", "must be after from (%s)", q.From.Format(time.RFC3339))
	}
	switch q.Interval {
	case Interval5m, Interval1d:
		step := Step(q.Interval)
		if !q.From.Truncate(step).Equal(q.From) {
			return invalid("from", "must be aligned to a %s bucket boundary in UTC", q.Interval)
		}
		if !q.To.Truncate(step).Equal(q.To) {
			return invalid("to", "must be aligned to a %s bucket boundary in UTC", q.Interval)
		}
		if n := q.To.Sub(q.From) / step; n > 100000 {
			return invalid("interval", "%d buckets of %s is too many (at most 100000)", n, q.Interval)
		}
	case IntervalTotal:
	case "":
		return invalid("interval", "is required (5m, 1d or total)")
	default:
		return invalid("interval", "unknown interval %q (5m, 1d or total)", q.Interval)
	}
	if q.OrderBy != "" {
		m := strings.TrimPrefix(q.OrderBy, "-")
		if !slices.Contains(q.Metrics, m) {
			return invalid("order_by", "%q must name one of the query's metrics, optionally prefixed with '-' for descending", q.OrderBy)
		}
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return invalid("limit", "must be between 0 (no limit) and %d", MaxLimit)
	}
	if q.Limit > 0 && q.OrderBy == "" {
		return invalid("limit", "needs order_by to say which series come first")
	}
	return nil
}
