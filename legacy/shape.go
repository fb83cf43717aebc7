package legacy

import (
	"sort"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// shaper collects store rows into the series of an answer: it applies the
// group-by, keeps only the asked metrics, ranks and limits the series.
type shaper struct {
	p      *plan
	series map[seriesKey]*seriesAcc
}

// seriesKey identifies a series: the group-by values of post and referrer
// category ("" when not grouped by them).
type seriesKey struct{ post, ref string }

type seriesAcc struct {
	key    map[string]string
	points map[int64]map[string]float64 // unix seconds → metric → value
}

func newShaper(p *plan) *shaper {
	return &shaper{p: p, series: map[seriesKey]*seriesAcc{}}
}

// seriesID is the series a post and referrer category fall in.
func (sh *shaper) seriesID(post, ref string) seriesKey {
	var k seriesKey
	if sh.p.groupURL {
		k.post = post
	}
	if sh.p.groupRef {
		k.ref = ref
	}
	return k
}

func (sh *shaper) point(post, ref string, t time.Time) map[string]float64 {
	id := sh.seriesID(post, ref)
	s := sh.series[id]
	if s == nil {
		key := map[string]string{}
		if sh.p.groupURL {
			key[query.DimURL] = post
		}
		if sh.p.groupRef {
			key[query.DimReferrerCategory] = ref
		}
		s = &seriesAcc{key: key, points: map[int64]map[string]float64{}}
		sh.series[id] = s
	}
	u := sh.p.bucket(t).Unix()
	pt := s.points[u]
	if pt == nil {
		pt = map[string]float64{}
		s.points[u] = pt
	}
	return pt
}

// addPageviews adds n page views of a post and referrer category in the
// store bucket starting at t.
func (sh *shaper) addPageviews(post, ref string, t time.Time, n int64) {
	if n == 0 || !sh.p.match(post, ref) {
		return
	}
	pt := sh.point(post, ref, t)
	if sh.p.pageviews {
		pt[query.Pageviews] += float64(n)
	}
}

// setVisitors sets the visitors of the series of post (ignored unless
// grouped by url) at bucket t.
func (sh *shaper) setVisitors(post string, t time.Time, n int64) {
	if n == 0 {
		return
	}
	sh.point(post, "", t)[query.Visitors] = float64(n)
}

// answer builds the answer. rank, when not nil, gives the ranking value of
// a series (by id) for an order_by metric that does not add up across
// points (visitors); otherwise series rank by the sum of their points.
func (sh *shaper) answer(rank map[seriesKey]float64) *query.Answer {
	q := sh.p.q
	type ranked struct {
		id    seriesKey
		key   string
		value float64
		s     *query.Series
	}
	metric := strings.TrimPrefix(q.OrderBy, "-")
	all := make([]ranked, 0, len(sh.series))
	for id, acc := range sh.series {
		s := &query.Series{Key: acc.key, Points: make([]query.Point, 0, len(acc.points))}
		var sum float64
		for u, vals := range acc.points {
			if len(vals) == 0 {
				continue
			}
			s.Points = append(s.Points, query.Point{T: time.Unix(u, 0).UTC(), Values: vals})
			sum += vals[metric]
		}
		if len(s.Points) == 0 {
			continue
		}
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].T.Before(s.Points[j].T) })
		if rank != nil {
			sum = rank[id]
		}
		all = append(all, ranked{id: id, key: query.KeyString(acc.key), value: sum, s: s})
	}
	desc := strings.HasPrefix(q.OrderBy, "-")
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if q.OrderBy != "" && a.value != b.value {
			if desc {
				return a.value > b.value
			}
			return a.value < b.value
		}
		return a.key < b.key
	})
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	ans := &query.Answer{ServedBy: System, Query: q, Series: make([]query.Series, 0, len(all))}
	for _, r := range all {
		ans.Series = append(ans.Series, *r.s)
	}
	if sh.p.visitors {
		ans.Approximate = map[string]query.Approximation{
			query.Visitors: {RelativeStdError: HLLRelativeStdError, Method: "redis-hyperloglog"},
		}
	}
	return ans
}
