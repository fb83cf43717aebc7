package legacy

import (
	"fmt"
	"slices"
	"time"

	"github.com/brooksdata/brooks/query"
)

// System is legacy's name in answers (served_by) and in 422 messages.
const System = "legacy"

// source is the store a query is answered from.
type source int

const (
	fromRedis5m source = iota // 5-minute hashes in Redis
	fromDaily                 // MongoDB daily documents (+ daily HyperLogLogs)
)

// plan is a query legacy can answer, and how.
type plan struct {
	q         *query.Query
	src       source
	pageviews bool
	visitors  bool
	groupURL  bool
	groupRef  bool
	urls      map[string]bool // filter; nil = every post
	refs      map[string]bool // filter; nil = every category
}

func unsupported(format string, args ...any) error {
	return &query.UnsupportedError{System: System, Message: fmt.Sprintf(format, args...)}
}

// planQuery checks a valid query against System One's abilities and
// chooses the store. The error is a *query.UnsupportedError (HTTP 422)
// naming what legacy lacks. now is the clock deciding what has expired.
func planQuery(q *query.Query, now time.Time, o Options) (*plan, error) {
	p := &plan{q: q}
	for _, m := range q.Metrics {
		switch m {
		case query.Pageviews:
			p.pageviews = true
		case query.Visitors:
			p.visitors = true
		default:
			return nil, unsupported("metric %s (it has pageviews and experimental visitors only)", m)
		}
	}
	for _, d := range q.GroupBy {
		switch d {
		case query.DimURL:
			p.groupURL = true
		case query.DimReferrerCategory:
			p.groupRef = true
		default:
			return nil, unsupported("group_by %s (it groups by url and referrer_category only)", d)
		}
	}
	for _, d := range sortedKeys(q.Filters) {
		vals := q.Filters[d]
		set := make(map[string]bool, len(vals))
		for _, v := range vals {
			set[v] = true
		}
		switch d {
		case query.DimURL:
			p.urls = set
		case query.DimReferrerCategory:
			p.refs = set
		default:
			return nil, unsupported("filters on %s (it filters by url and referrer_category only)", d)
		}
	}
	if p.visitors && (p.groupRef || p.refs != nil) {
		return nil, unsupported("visitors by referrer_category (its visitor HyperLogLogs are per post and UTC day, without referrers)")
	}

	oldest5m := now.UTC().Truncate(Step5m).Add(-o.Retention5m)
	dayAligned := q.From.Equal(q.From.Truncate(Day)) && q.To.Equal(q.To.Truncate(Day))
	fiveAligned := q.From.Equal(q.From.Truncate(Step5m)) && q.To.Equal(q.To.Truncate(Step5m))
	switch {
	case q.Interval == query.Interval5m:
		if p.visitors {
			return nil, unsupported("visitors at 5m granularity (it keeps one HyperLogLog per post and UTC day; ask for interval 1d or total over whole UTC days)")
		}
		if q.From.Before(oldest5m) {
			return nil, unsupported("5-minute buckets before %s: legacy keeps 5-minute buckets for %s only (use interval 1d for older data)", oldest5m.Format(time.RFC3339), days(o.Retention5m))
		}
		p.src = fromRedis5m
	case q.Interval == query.Interval1d || dayAligned:
		p.src = fromDaily
	case p.visitors:
		return nil, unsupported("visitors over part of a day (its visitor HyperLogLogs are per UTC day; give from and to at 00:00 UTC)")
	case !fiveAligned:
		return nil, unsupported("a total over a range not aligned to 5-minute buckets (its finest bucket is 5 minutes)")
	case q.From.Before(oldest5m):
		return nil, unsupported("a total over part of a day before %s: legacy keeps 5-minute buckets for %s only (give from and to at 00:00 UTC to use its daily history)", oldest5m.Format(time.RFC3339), days(o.Retention5m))
	default:
		p.src = fromRedis5m
	}
	if p.visitors {
		oldestDay := now.UTC().Truncate(Day).Add(-o.RetentionVisitors)
		if q.From.Before(oldestDay) {
			return nil, unsupported("visitors before %s: legacy keeps daily visitors for %s only", oldestDay.Format(DayLayout), days(o.RetentionVisitors))
		}
	}
	return p, nil
}

func days(d time.Duration) string {
	if d%Day == 0 {
		return fmt.Sprintf("%d days", d/Day)
	}
	return d.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// match reports whether a post and referrer category pass the filters.
func (p *plan) match(post, ref string) bool {
	return (p.urls == nil || p.urls[post]) && (p.refs == nil || p.refs[ref])
}

// bucket is the point time of a store bucket starting at t.
func (p *plan) bucket(t time.Time) time.Time {
	if p.q.Interval == query.IntervalTotal {
		return p.q.From
	}
	return t
}
