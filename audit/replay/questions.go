package replay

import (
	"slices"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/rollup"
)

// Retention of what the systems keep, by granularity; questions about
// buckets older than this (from the replay's clock) are not asked. Both
// systems keep 5-minute buckets for 8 days and daily ones for 2 years;
// legacy keeps its daily visitor HyperLogLogs for 30 days.
const (
	Retention5m             = 8 * 24 * time.Hour
	Retention1d             = 2 * 365 * 24 * time.Hour
	LegacyRetentionVisitors = 30 * 24 * time.Hour
)

// Question is one query asked of a system, with the projection of the
// truth that system promises.
type Question struct {
	System string // "legacy" or "nextgen"
	Query  query.Query
}

// groupings nextgen is asked at each interval: no group, every single
// dimension, and legacy's (url, referrer_category).
var nextgenGroupings = [][]string{
	nil, {query.DimURL}, {query.DimReferrerDomain}, {query.DimReferrerCategory}, {query.DimCampaign}, {query.DimDevice},
	{query.DimURL, query.DimReferrerCategory},
}

// legacyGroupings are legacy's: url and referrer_category only.
var legacyGroupings = [][]string{nil, {query.DimURL}, {query.DimReferrerCategory}, {query.DimURL, query.DimReferrerCategory}}

// Questions lists what the replay asks for customer's scope [from, to)
// (5-minute aligned) judged at now: at 5m over the scope, at 1d over the
// UTC days wholly inside it; nextgen every metric, legacy page views
// (and visitors at 1d, without referrer_category: its HyperLogLogs are
// per post and day). Buckets past a system's retention are left out.
func Questions(customer string, from, to, now time.Time) []Question {
	var qs []Question
	add := func(system string, metrics, groupBy []string, f, t time.Time, interval string) {
		if !f.Before(t) {
			return
		}
		qs = append(qs, Question{System: system, Query: query.Query{
			Customer: customer, Metrics: slices.Clone(metrics), GroupBy: slices.Clone(groupBy), From: f, To: t, Interval: interval,
		}})
	}
	oldest5m := now.UTC().Truncate(5 * time.Minute).Add(-Retention5m)
	f5 := maxTime(from, oldest5m)
	d0 := from.Truncate(24 * time.Hour)
	if !d0.Equal(from) {
		d0 = d0.Add(24 * time.Hour)
	}
	d1 := to.Truncate(24 * time.Hour)
	d0 = maxTime(d0, now.UTC().Truncate(24*time.Hour).Add(-Retention1d))
	dv := maxTime(d0, now.UTC().Truncate(24*time.Hour).Add(-LegacyRetentionVisitors))
	for _, g := range nextgenGroupings {
		add("nextgen", query.Metrics, g, f5, to, query.Interval5m)
		add("nextgen", query.Metrics, g, d0, d1, query.Interval1d)
	}
	for _, g := range legacyGroupings {
		add("legacy", []string{query.Pageviews}, g, f5, to, query.Interval5m)
		if slices.Contains(g, query.DimReferrerCategory) {
			add("legacy", []string{query.Pageviews}, g, d0, d1, query.Interval1d)
			continue
		}
		if dv.Equal(d0) {
			add("legacy", []string{query.Pageviews, query.Visitors}, g, d0, d1, query.Interval1d)
		} else {
			add("legacy", []string{query.Pageviews}, g, d0, dv, query.Interval1d)
			add("legacy", []string{query.Pageviews, query.Visitors}, g, dv, d1, query.Interval1d)
		}
	}
	return qs
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// LegacyView is the one projection of the truth to what legacy promises:
// page views (and visitors) of URLs matching the customer's post pattern,
// legacy's unit of tracking; every other page, metric and dimension is
// outside its view. Retention is applied by Questions.
func LegacyView(c *pixel.Customer) func(*rollup.Cell) bool {
	return func(cell *rollup.Cell) bool { return c.IsPost(cell.Dim(query.DimURL)) }
}

// Answer computes the truth's answer to q from the rollup's tuple cells
// that match accepts (nil: all): sums added up, visitor sets united, per
// group-by key and bucket; buckets without events are absent.
func Answer(r *rollup.Rollup, q *query.Query, match func(*rollup.Cell) bool) *query.Answer {
	g := rollup.FiveMinutes
	if q.Interval == query.Interval1d {
		g = rollup.OneDay
	}
	type group struct {
		key    map[string]string
		points map[int64]*rollup.Cell
	}
	groups := map[string]*group{}
	from, to := q.From.Unix(), q.To.Unix()
	for _, c := range r.Cells() {
		if c.Key.Granularity != g || c.Key.Site() || c.Key.Bucket < from || c.Key.Bucket >= to || (match != nil && !match(c)) {
			continue
		}
		key := make(map[string]string, len(q.GroupBy))
		for _, d := range q.GroupBy {
			key[d] = c.Dim(d)
		}
		ks := query.KeyString(key)
		gr := groups[ks]
		if gr == nil {
			gr = &group{key: key, points: map[int64]*rollup.Cell{}}
			groups[ks] = gr
		}
		acc := gr.points[c.Key.Bucket]
		if acc == nil {
			acc = r.Registry().NewCell(rollup.Key{Granularity: g, Bucket: c.Key.Bucket})
			gr.points[c.Key.Bucket] = acc
		}
		acc.Merge(c)
	}
	qq := *q
	a := &query.Answer{ServedBy: "truth", Query: &qq, Series: []query.Series{}}
	for _, gr := range groups {
		s := query.Series{Key: gr.key}
		for b, acc := range gr.points {
			p := query.Point{T: time.Unix(b, 0).UTC(), Values: map[string]float64{}}
			for _, m := range q.Metrics {
				if query.IsDistinct(m) {
					p.Values[m] = float64(acc.Count(m))
				} else {
					p.Values[m] = float64(acc.Sum(m))
				}
			}
			s.Points = append(s.Points, p)
		}
		a.Series = append(a.Series, s)
	}
	a.Sort()
	return a
}
