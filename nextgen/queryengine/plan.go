package queryengine

import (
	"fmt"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/rollup"
)

const day = 24 * time.Hour

// part selects rollup documents: those of one granularity whose bucket
// starts in [from, to).
type part struct {
	gran     string // granularity5m or granularity1d
	from, to time.Time
}

// plan is how a query is answered: which rollup documents it reads and how
// their buckets are grouped in time.
type plan struct {
	// histogram is the time grouping: query.Interval5m, query.Interval1d, or
	// "" for one total over the range.
	histogram string
	// parts are the document selections, disjoint in time; a "total" over a
	// range that is not whole days reads 1-day rollups for the whole days and
	// 5-minute rollups for the partial days at either end. Cardinality merges
	// the visitor sets of both, so distinct counts stay right.
	parts []part
}

func unsupported(format string, args ...any) error {
	return &query.UnsupportedError{System: "nextgen", Message: fmt.Sprintf(format, args...)}
}

// planQuery decides which rollups answer a validated query, or says why
// nextgen cannot (an *query.UnsupportedError): a range reaching before the
// oldest rollup index still kept at now is rejected, never answered with
// zeros.
func planQuery(q *query.Query, now time.Time, names esindex.Names) (plan, error) {
	var p plan
	switch q.Interval {
	case query.Interval5m:
		p = plan{histogram: query.Interval5m, parts: []part{{granularity5m, q.From, q.To}}}
	case query.Interval1d:
		p = plan{histogram: query.Interval1d, parts: []part{{granularity1d, q.From, q.To}}}
	case query.IntervalTotal:
		step := query.Step(query.Interval5m)
		if !q.From.Truncate(step).Equal(q.From) || !q.To.Truncate(step).Equal(q.To) {
			return plan{}, unsupported("interval total from %s to %s: 5-minute buckets are the finest data, so from and to must be on 5-minute boundaries",
				q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
		}
		p.parts = splitDays(q.From, q.To)
	default:
		return plan{}, unsupported("interval %q", q.Interval)
	}
	for _, pt := range p.parts {
		e := earliest(names, pt.gran, now)
		if !pt.from.Before(e) {
			continue
		}
		keep := esindex.Retention[rollup.Granularity(pt.gran)]
		switch {
		case pt.gran == granularity1d:
			return plan{}, unsupported("1-day data before %s: 1-day rollups are kept for %d days in yearly indices (the range starts %s)",
				e.Format(time.RFC3339), int(keep/day), pt.from.Format(time.RFC3339))
		case q.Interval == query.IntervalTotal:
			return plan{}, unsupported("5-minute data before %s: 5-minute rollups are kept for %d days and the partial day from %s needs them; use from and to at 00:00 UTC so whole days are read from 1-day rollups",
				e.Format(time.RFC3339), int(keep/day), pt.from.Format(time.RFC3339))
		default:
			return plan{}, unsupported("5-minute data before %s: 5-minute rollups are kept for %d days (the range starts %s); use interval 1d for older data",
				e.Format(time.RFC3339), int(keep/day), pt.from.Format(time.RFC3339))
		}
	}
	return p, nil
}

// splitDays covers [from, to) with 1-day rollups for the whole UTC days
// inside it and 5-minute rollups for the rest.
func splitDays(from, to time.Time) []part {
	first := from.Truncate(day)
	if first.Before(from) {
		first = first.Add(day)
	}
	last := to.Truncate(day)
	if !first.Before(last) {
		return []part{{granularity5m, from, to}}
	}
	var parts []part
	if from.Before(first) {
		parts = append(parts, part{granularity5m, from, first})
	}
	parts = append(parts, part{granularity1d, first, last})
	if last.Before(to) {
		parts = append(parts, part{granularity5m, last, to})
	}
	return parts
}

// indices names the rollup indices that can hold the plan's documents,
// ignoring days after horizon (no bucket starts in the future). Empty when
// the whole range lies after horizon.
func (p plan) indices(names esindex.Names, horizon time.Time) []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, pt := range p.parts {
		to := pt.to
		if to.After(horizon) {
			to = horizon
		}
		switch pt.gran {
		case granularity5m:
			for d := pt.from.Truncate(day); d.Before(to); d = d.Add(day) {
				add(indexName(names, pt.gran, d))
			}
		case granularity1d:
			for y := pt.from.Year(); y <= to.Add(-time.Nanosecond).Year() && pt.from.Before(to); y++ {
				add(indexName(names, pt.gran, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)))
			}
		}
	}
	return out
}
