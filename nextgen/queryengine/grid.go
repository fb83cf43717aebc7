package queryengine

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// grid collects metric values per series and bucket as search pages
// arrive.
type grid struct {
	metrics []string
	series  map[string]*seriesAcc // by query.KeyString
	points  int
	keep    part // when set, buckets outside [keep.from, keep.to) are dropped
}

type seriesAcc struct {
	key    map[string]string
	points map[time.Time]map[string]float64
}

func newGrid(metrics []string) *grid {
	return &grid{metrics: metrics, series: map[string]*seriesAcc{}}
}

// add records the values of one series at bucket t. A second add for the
// same cell happens only when a document lacks a dimension field and also
// reads as "": the values are added (for distinct metrics an upper bound).
func (g *grid) add(key map[string]string, t time.Time, vals map[string]float64) {
	if !g.keep.from.IsZero() && (t.Before(g.keep.from) || !t.Before(g.keep.to)) {
		return
	}
	ks := query.KeyString(key)
	s := g.series[ks]
	if s == nil {
		s = &seriesAcc{key: key, points: map[time.Time]map[string]float64{}}
		g.series[ks] = s
	}
	p := s.points[t]
	if p == nil {
		p = map[string]float64{}
		s.points[t] = p
		g.points++
	}
	for m, v := range vals {
		p[m] += v
	}
}

// merge adds o's cells to g; the two cover different buckets.
func (g *grid) merge(o *grid) {
	for _, s := range o.series {
		for t, vals := range s.points {
			g.add(s.key, t, vals)
		}
	}
}

// nonZero reports whether any value of the cell is not 0.
func nonZero(vals map[string]float64) bool {
	for _, v := range vals {
		if v != 0 {
			return true
		}
	}
	return false
}

// answerSeries renders the series named by keys (all series, in key order,
// when keys is nil). Points whose every value is 0 are left out (sparse),
// and so are series left without points; every kept point carries every
// metric. Points with the zero time are placed at total.
func (g *grid) answerSeries(keys []string, total time.Time) []query.Series {
	if keys == nil {
		keys = slices.Sorted(maps.Keys(g.series))
	}
	out := make([]query.Series, 0, len(keys))
	for _, ks := range keys {
		s := g.series[ks]
		if s == nil {
			continue
		}
		var pts []query.Point
		for t, vals := range s.points {
			if !nonZero(vals) {
				continue
			}
			p := query.Point{T: t, Values: make(map[string]float64, len(g.metrics))}
			if t.IsZero() {
				p.T = total
			}
			for _, m := range g.metrics {
				p.Values[m] = vals[m]
			}
			pts = append(pts, p)
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortFunc(pts, func(a, b query.Point) int { return a.T.Compare(b.T) })
		out = append(out, query.Series{Key: s.key, Points: pts})
	}
	return out
}

// rank orders the series of a totals grid (one point per series) by the
// order_by metric, ties by key, and keeps the first limit (all when limit
// is 0). Series whose every value is 0 are not series and are left out.
func (g *grid) rank(orderBy string, limit int) []string {
	metric, desc := strings.TrimPrefix(orderBy, "-"), strings.HasPrefix(orderBy, "-")
	type ranked struct {
		key   string
		value float64
	}
	var rs []ranked
	for ks, s := range g.series {
		var vals map[string]float64
		for _, v := range s.points {
			vals = v
		}
		if !nonZero(vals) {
			continue
		}
		rs = append(rs, ranked{ks, vals[metric]})
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		c := cmp.Compare(a.value, b.value)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	if limit > 0 && len(rs) > limit {
		rs = rs[:limit]
	}
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.key
	}
	return keys
}

// restriction is a filter that keeps the documents of the chosen series:
// per dimension the values the chosen keys take. With more than one
// dimension it may also let through other combinations, which the caller
// drops by keeping only the chosen keys.
func (g *grid) restriction(keys []string, dims []string) map[string][]string {
	out := map[string][]string{}
	for _, d := range dims {
		seen := map[string]bool{}
		for _, ks := range keys {
			v := g.series[ks].key[d]
			if !seen[v] {
				seen[v] = true
				out[d] = append(out[d], v)
			}
		}
		slices.Sort(out[d])
	}
	return out
}
