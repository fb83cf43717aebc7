package enginetest

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// Truth answers q from raw events by the language's definitions, exactly
// and without Elasticsearch: the oracle the engine's answers are held to.
// Events are deduplicated by eid; series and points are sparse.
func Truth(t testing.TB, customers *pixel.Customers, events []pixel.Event, q query.Query) *query.Answer {
	t.Helper()
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	type cell struct {
		sums map[string]float64
		sets map[string]map[string]bool
	}
	newCell := func() *cell { return &cell{sums: map[string]float64{}, sets: map[string]map[string]bool{}} }
	add := func(c *cell, e *pixel.Event, cust *pixel.Customer) {
		pv := e.Type == pixel.TypePageView
		contrib := map[string]float64{query.Pageviews: b2f(pv), query.VideoStarts: b2f(e.IsVideoStart())}
		if e.Type == pixel.TypePagePing {
			contrib[query.EngagedSeconds] = float64(cust.HeartbeatSeconds)
		}
		for m, v := range contrib {
			c.sums[m] += v
		}
		member := map[string]bool{query.Visitors: pv, query.NewVisitors: pv && e.VisitIndex == 1, query.ReturningVisitors: pv && e.VisitIndex > 1}
		for m, ok := range member {
			if ok {
				if c.sets[m] == nil {
					c.sets[m] = map[string]bool{}
				}
				c.sets[m][e.Visitor()] = true
			}
		}
	}
	value := func(c *cell, m string) float64 {
		if query.IsDistinct(m) {
			return float64(len(c.sets[m]))
		}
		return c.sums[m]
	}
	keys := map[string]map[string]string{}
	points := map[string]map[time.Time]*cell{}
	totals := map[string]*cell{}
	seen := map[string]bool{}
	for i := range events {
		e := &events[i]
		if seen[e.EID] || e.Customer != q.Customer || e.ReceivedAt.Before(q.From) || !e.ReceivedAt.Before(q.To) {
			continue
		}
		seen[e.EID] = true
		cust, err := customers.Get(e.Customer)
		if err != nil {
			t.Fatal(err)
		}
		dims := e.Dims()
		ok := true
		for d, vals := range q.Filters {
			ok = ok && slices.Contains(vals, dims.Get(d))
		}
		if !ok {
			continue
		}
		key := map[string]string{}
		for _, d := range q.GroupBy {
			key[d] = dims.Get(d)
		}
		ks := query.KeyString(key)
		if points[ks] == nil {
			keys[ks], points[ks], totals[ks] = key, map[time.Time]*cell{}, newCell()
		}
		b := query.BucketStart(e.ReceivedAt, q.Interval, q.From)
		if points[ks][b] == nil {
			points[ks][b] = newCell()
		}
		add(points[ks][b], e, cust)
		add(totals[ks], e, cust)
	}
	nonZero := func(c *cell) bool {
		for _, m := range q.Metrics {
			if value(c, m) != 0 {
				return true
			}
		}
		return false
	}
	var order []string
	for ks, c := range totals {
		if nonZero(c) {
			order = append(order, ks)
		}
	}
	slices.Sort(order)
	if q.OrderBy != "" {
		m, desc := strings.TrimPrefix(q.OrderBy, "-"), strings.HasPrefix(q.OrderBy, "-")
		slices.SortStableFunc(order, func(a, b string) int {
			c := cmp.Compare(value(totals[a], m), value(totals[b], m))
			if desc {
				c = -c
			}
			return c
		})
		if q.Limit > 0 && len(order) > q.Limit {
			order = order[:q.Limit]
		}
	}
	a := &query.Answer{ServedBy: "truth", Series: []query.Series{}}
	for _, ks := range order {
		s := query.Series{Key: keys[ks]}
		for b, c := range points[ks] {
			if !nonZero(c) {
				continue
			}
			p := query.Point{T: b, Values: map[string]float64{}}
			for _, m := range q.Metrics {
				p.Values[m] = value(c, m)
			}
			s.Points = append(s.Points, p)
		}
		slices.SortFunc(s.Points, func(x, y query.Point) int { return x.T.Compare(y.T) })
		a.Series = append(a.Series, s)
	}
	return a
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SameAnswer fails t unless got has want's series in want's order, the same
// points, additive metrics exactly equal and distinct metrics within
// queryengine.Tolerance of the error got states for them.
func SameAnswer(t testing.TB, want, got *query.Answer, q query.Query) {
	t.Helper()
	if got.ServedBy != "nextgen" {
		t.Errorf("served_by = %q", got.ServedBy)
	}
	for _, m := range q.Metrics {
		// A distinct metric is either approximate with a stated error
		// (cardinality over tuple documents) or absent from approximate
		// and then exact (site documents).
		if a, ok := got.Approximate[m]; query.IsDistinct(m) && ok && a.RelativeStdError <= 0 {
			t.Errorf("approximate states no error for %s: %+v", m, got.Approximate)
		} else if !query.IsDistinct(m) && ok {
			t.Errorf("approximate states exact metric %s", m)
		}
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("%d series, want %d:\n got %s\nwant %s", len(got.Series), len(want.Series), seriesKeys(got), seriesKeys(want))
	}
	bad := 0
	for i, ws := range want.Series {
		gs := got.Series[i]
		if query.KeyString(gs.Key) != query.KeyString(ws.Key) {
			t.Fatalf("series %d is %q, want %q:\n got %s\nwant %s", i, query.KeyString(gs.Key), query.KeyString(ws.Key), seriesKeys(got), seriesKeys(want))
		}
		if len(gs.Points) != len(ws.Points) {
			t.Errorf("series %q: %d points, want %d", query.KeyString(ws.Key), len(gs.Points), len(ws.Points))
			continue
		}
		for j, wp := range ws.Points {
			gp := gs.Points[j]
			if !gp.T.Equal(wp.T) {
				t.Errorf("series %q point %d at %s, want %s", query.KeyString(ws.Key), j, gp.T, wp.T)
				continue
			}
			for _, m := range q.Metrics {
				w, g := wp.Values[m], gp.Values[m]
				tol := 0.0
				if a, ok := got.Approximate[m]; ok && query.IsDistinct(m) {
					tol = queryengine.Tolerance(w, a.RelativeStdError)
				}
				if math.Abs(g-w) > tol && bad < 10 {
					bad++
					t.Errorf("series %q at %s: %s = %v, want %v (tolerance %v)", query.KeyString(ws.Key), wp.T.Format(time.RFC3339), m, g, w, tol)
				}
			}
		}
	}
}

func seriesKeys(a *query.Answer) string {
	var ks []string
	for _, s := range a.Series {
		ks = append(ks, "{"+query.KeyString(s.Key)+"}")
	}
	return strings.Join(ks, " ")
}
