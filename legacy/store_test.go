package legacy

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/query"
)

// TestStoreRoundTrip writes random page views through two flushes and
// checks every kind of answer against sums computed here.
func TestStoreRoundTrip(t *testing.T) {
	s, _ := newTestStore(t, Options{})
	api := newTestAPI(t, s)
	ctx := testenv.Context(t, 5*time.Minute)
	now := time.Now().UTC()
	today := now.Truncate(Day)
	rng := rand.New(rand.NewPCG(7, 7))
	posts := []string{"https://acme.example/post/a", "https://acme.example/post/b?page=2", "https://acme.example/post/c"}
	refs := []string{"search", "social", "direct", "internal", "other"}

	type pvKey struct {
		post, ref string
		t         time.Time
	}
	pv5m := map[pvKey]float64{}         // 5-minute buckets, last 3 hours
	pv1d := map[pvKey]float64{}         // days
	vis := map[string]map[string]bool{} // "post|day" and "|day" → visitor set
	addVis := func(k, v string) {
		if vis[k] == nil {
			vis[k] = map[string]bool{}
		}
		vis[k][v] = true
	}
	var batches [2]*Batch
	for i := range batches {
		batches[i] = NewBatch()
	}
	for i := range 2000 {
		var at time.Time
		switch r := rng.IntN(10); {
		case r < 6: // last 3 hours
			at = now.Add(-time.Duration(rng.Int64N(int64(3 * time.Hour))))
		case r < 8: // yesterday
			at = today.Add(-Day + time.Duration(rng.Int64N(int64(Day))))
		default: // 40 days of history
			at = today.Add(-Day * time.Duration(2+rng.IntN(40))).Add(time.Duration(rng.Int64N(int64(Day))))
		}
		pv := Pageview{Customer: "acme.example", Post: posts[rng.IntN(len(posts))], Referrer: refs[rng.IntN(len(refs))],
			Visitor: fmt.Sprintf("v%d", rng.IntN(400)), At: at}
		batches[i%2].Add(pv)
		if !at.Before(now.Add(-3 * time.Hour).Truncate(Step5m)) {
			pv5m[pvKey{pv.Post, pv.Referrer, at.Truncate(Step5m)}]++
		}
		day := at.Truncate(Day)
		pv1d[pvKey{pv.Post, pv.Referrer, day}]++
		addVis(pv.Post+"|"+day.Format(DayLayout), pv.Visitor)
		addVis("|"+day.Format(DayLayout), pv.Visitor)
	}
	for _, b := range batches {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	sum := func(m map[pvKey]float64, key func(pvKey) (string, time.Time, bool)) map[string]map[time.Time]float64 {
		out := map[string]map[time.Time]float64{}
		for k, v := range m {
			sk, t, ok := key(k)
			if !ok {
				continue
			}
			if out[sk] == nil {
				out[sk] = map[time.Time]float64{}
			}
			out[sk][t] += v
		}
		return out
	}
	from5m := now.Add(-3 * time.Hour).Truncate(Step5m)
	to5m := now.Truncate(Step5m).Add(Step5m)
	from1d := today.Add(-45 * Day)
	to1d := today.Add(Day)
	tests := []struct {
		name string
		q    query.Query
		want map[string]map[time.Time]float64
	}{
		{"5m by url and referrer", query.Query{GroupBy: []string{"url", "referrer_category"}, From: from5m, To: to5m, Interval: "5m"},
			sum(pv5m, func(k pvKey) (string, time.Time, bool) {
				return query.KeyString(map[string]string{"url": k.post, "referrer_category": k.ref}), k.t, true
			})},
		{"5m site filtered to search and social", query.Query{Filters: map[string][]string{"referrer_category": {"social", "search"}}, From: from5m, To: to5m, Interval: "5m"},
			sum(pv5m, func(k pvKey) (string, time.Time, bool) { return "", k.t, k.ref == "search" || k.ref == "social" })},
		{"1d by url", query.Query{GroupBy: []string{"url"}, From: from1d, To: to1d, Interval: "1d"},
			sum(pv1d, func(k pvKey) (string, time.Time, bool) { return "url=" + k.post, k.t, true })},
		{"1d by referrer for one post", query.Query{GroupBy: []string{"referrer_category"}, Filters: map[string][]string{"url": {posts[1]}}, From: from1d, To: to1d, Interval: "1d"},
			sum(pv1d, func(k pvKey) (string, time.Time, bool) { return "referrer_category=" + k.ref, k.t, k.post == posts[1] })},
		{"total of whole days by url", query.Query{GroupBy: []string{"url"}, From: from1d, To: to1d, Interval: "total"},
			sum(pv1d, func(k pvKey) (string, time.Time, bool) { return "url=" + k.post, from1d, true })},
		{"total of the last 3 hours", query.Query{From: from5m, To: to5m, Interval: "total"},
			sum(pv5m, func(k pvKey) (string, time.Time, bool) { return "", from5m, true })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Customer, q.Metrics = "acme.example", []string{"pageviews"}
			ans, err := api.Do(ctx, &q)
			if err != nil {
				t.Fatal(err)
			}
			if ans.ServedBy != "legacy" {
				t.Errorf("served_by = %q", ans.ServedBy)
			}
			compareCells(t, cells(ans, "pageviews"), tt.want)
		})
	}

	t.Run("visitors by url per day", func(t *testing.T) {
		q := query.Query{Customer: "acme.example", Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"url"},
			From: today.Add(-Day), To: to1d, Interval: "1d"}
		ans, err := api.Do(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		if ans.Approximate["visitors"].RelativeStdError != 0.0081 {
			t.Errorf("approximate = %+v", ans.Approximate)
		}
		got := cells(ans, "visitors")
		n := 0
		for _, post := range posts {
			for _, day := range []time.Time{today.Add(-Day), today} {
				want := float64(len(vis[post+"|"+day.Format(DayLayout)]))
				g := got["url="+post][day]
				if !withinHLL(g, want) {
					t.Errorf("visitors %s %s = %v, want %v ± HLL error", post, day.Format(DayLayout), g, want)
				}
				n++
			}
		}
		if n == 0 {
			t.Fatal("nothing checked")
		}
	})
	t.Run("site visitors over two days is a union", func(t *testing.T) {
		q := query.Query{Customer: "acme.example", Metrics: []string{"visitors"}, From: today.Add(-Day), To: to1d, Interval: "total"}
		ans, err := api.Do(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		union := map[string]bool{}
		for _, d := range []time.Time{today.Add(-Day), today} {
			for v := range vis["|"+d.Format(DayLayout)] {
				union[v] = true
			}
		}
		got := cells(ans, "visitors")[""][today.Add(-Day)]
		if !withinHLL(got, float64(len(union))) {
			t.Errorf("visitors = %v, want %d ± HLL error", got, len(union))
		}
	})
	t.Run("top posts", func(t *testing.T) {
		q := query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
			From: from1d, To: to1d, Interval: "total", OrderBy: "-pageviews", Limit: 2}
		ans, err := api.Do(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		totals := map[string]float64{}
		for k, v := range pv1d {
			totals[k.post] += v
		}
		if len(ans.Series) != 2 {
			t.Fatalf("%d series, want 2", len(ans.Series))
		}
		prev := 1e18
		for _, s := range ans.Series {
			v := s.Points[0].Values["pageviews"]
			if v != totals[s.Key["url"]] || v > prev {
				t.Errorf("series %v = %v (total %v), not in descending order", s.Key, v, totals[s.Key["url"]])
			}
			prev = v
		}
		for p, v := range totals {
			if v > ans.Series[1].Points[0].Values["pageviews"] && p != ans.Series[0].Key["url"] && p != ans.Series[1].Key["url"] {
				t.Errorf("post %s with %v page views is missing from the top 2", p, v)
			}
		}
	})
}

func compareCells(t *testing.T, got, want map[string]map[time.Time]float64) {
	t.Helper()
	n := 0
	for k, pts := range want {
		for tm, v := range pts {
			n++
			if got[k][tm] != v {
				t.Errorf("%s @ %s = %v, want %v", k, tm.Format(time.RFC3339), got[k][tm], v)
			}
		}
	}
	for k, pts := range got {
		for tm, v := range pts {
			if _, ok := want[k][tm]; !ok {
				t.Errorf("%s @ %s = %v, want no point", k, tm.Format(time.RFC3339), v)
			}
		}
	}
	if n == 0 {
		t.Error("expected nothing: the test checks nothing")
	}
}

// TestFlushUpdatesManyExistingDocuments writes the same 150 daily documents
// twice: FerretDB must not stall on many updates of existing documents in
// one command (see mongoChunkDocs).
func TestFlushUpdatesManyExistingDocuments(t *testing.T) {
	s, _ := newTestStore(t, Options{})
	ctx := testenv.Context(t, 2*time.Minute)
	now := time.Now().UTC()
	for range 2 {
		b := NewBatch()
		for i := range 150 {
			b.Add(Pageview{Customer: "acme.example", Post: fmt.Sprintf("https://acme.example/post/%d", i), Referrer: "search", Visitor: "v", At: now})
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	day := now.Truncate(Day)
	ans, err := s.Answer(ctx, &query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
		From: day, To: day.Add(Day), Interval: "1d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Series) != 150 {
		t.Fatalf("%d posts, want 150", len(ans.Series))
	}
	for _, s := range ans.Series {
		if v := s.Points[0].Values["pageviews"]; v != 2 {
			t.Errorf("%s = %v page views, want 2", s.Key["url"], v)
		}
	}
}
