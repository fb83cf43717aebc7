package queryengine_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/rollup"
)

// Query benchmarks against the real Elasticsearch, on rollups seeded with
// _bulk in the shape the stream engine writes: one document per (customer,
// bucket, partition, dimension tuple), each url seen under a few tuples
// (referrer category × device), small visitor sets per document, and a
// second customer's documents in the same indices.
//
//	go test ./nextgen/queryengine -run '^$' -bench Query -benchtime 200x
//
// Scale with BROOKS_BENCH_URLS (urls per customer, default 200);
// BROOKS_BENCH_KEEP=1 keeps the seeded indices (prefix qebench-<urls>) and
// reuses them on the next run instead of seeding again. Each
// benchmark reports p50 and p99 latency over its iterations; "nocache"
// turns Elasticsearch's shard request cache off (every search computed),
// "cache" leaves it on (repeated dashboard queries between refreshes);
// "t40000" uses the maximum cardinality precision threshold instead of the
// default 3000.

// benchURLs is the number of urls per customer.
func benchURLs(b *testing.B) int {
	if s := os.Getenv("BROOKS_BENCH_URLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("BROOKS_BENCH_URLS=%q: want a positive number", s)
		}
		return n
	}
	return 200
}

var benchTuples = [][2]string{{"search", "mobile"}, {"social", "mobile"}, {"direct", "desktop"}}

// seedRollups writes, for both customers, one document per url and tuple
// in every bucket of granularity g from first to last (inclusive), with
// visitors ids per document drawn from a pool of 50 per url.
func seedRollups(b *testing.B, c *esindex.Client, g string, first, last time.Time, urls, visitors int) int {
	step := 5 * time.Minute
	if g == "1d" {
		step = 24 * time.Hour
	}
	writes := make(chan []esindex.Write, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range writes {
				res, err := c.Bulk(testenv.Context(b, 5*time.Minute), batch)
				if err == nil {
					for i, r := range res {
						if !r.OK() {
							err = fmt.Errorf("bulk %s: %d %s", batch[i].ID, r.Status, r.ErrReason)
							break
						}
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		}()
	}
	n := 0
	var batch []esindex.Write
	reg := rollup.DefaultRegistry
	for _, cust := range []string{"acme.example", "globex.example"} {
		for t, k := first, 0; !t.After(last); t, k = t.Add(step), k+1 {
			// The site document: the bucket's sums and visitor sets, as the
			// engine writes it from the same events.
			site := reg.NewCell(rollup.Key{Customer: cust, Granularity: rollup.Granularity(g), Bucket: t.Unix(), Tuple: rollup.SiteTuple})
			site.Offset = int64(k)
			var sums [4]int64
			for u := range urls {
				for ti, tu := range benchTuples {
					doc := make([]byte, 0, 512)
					doc = fmt.Appendf(doc, `{"customer":%q,"bucket":%q,"granularity":%q,"partition":0,"offset":%d,`, cust, t.Format(time.RFC3339), g, k)
					doc = fmt.Appendf(doc, `"d_url":"https://%s/post/%d","d_referrer_domain":"","d_referrer_category":%q,"d_campaign":"","d_device":%q,`, cust, u, tu[0], tu[1])
					pv := 1 + (k+u+ti)%7
					doc = fmt.Appendf(doc, `"m_pageviews":%d,"m_pings":%d,"m_engaged_seconds":%d,"m_video_starts":%d,"v_visitors":[`, pv, 2*pv, 20*pv, pv%2)
					for i, v := range []int64{int64(pv), int64(2 * pv), int64(20 * pv), int64(pv % 2)} {
						sums[i] += v
					}
					for v := range visitors {
						if v > 0 {
							doc = append(doc, ',')
						}
						id := fmt.Sprintf("v%d-%d", u, (k*visitors+v+ti)%50)
						doc = fmt.Appendf(doc, `%q`, id)
						_ = site.AddMember("visitors", id)
					}
					doc = fmt.Appendf(doc, `],"v_new_visitors":["v%d-%d"],"v_returning_visitors":[]}`, u, k%50)
					_ = site.AddMember("new_visitors", fmt.Sprintf("v%d-%d", u, k%50))
					batch = append(batch, esindex.Write{Index: c.Names.Index(rollup.Granularity(g), t), ID: fmt.Sprintf("%s|%d|0|%d-%d", cust, t.Unix(), u, ti), Doc: doc})
					n++
					if len(batch) == 4000 {
						writes <- batch
						batch = nil
					}
				}
			}
			for i, m := range []string{"pageviews", "pings", "engaged_seconds", "video_starts"} {
				_ = site.SetSum(m, sums[i])
			}
			batch = append(batch, esindex.Write{Index: c.Names.KeyIndex(site.Key), ID: esindex.DocID(reg, site.Key, nil), Doc: esindex.AppendDoc(nil, site)})
			n++
		}
	}
	writes <- batch
	close(writes)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
	if err := c.Refresh(testenv.Context(b, 5*time.Minute)); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchIndex returns the index to seed: a fresh unique prefix deleted at
// the end, or with BROOKS_BENCH_KEEP=1 a kept one named after the scale;
// seeded reports whether it already holds want documents of granularity g.
func benchIndex(b *testing.B, urls int) (*esindex.Client, func(g string, want int) bool) {
	if os.Getenv("BROOKS_BENCH_KEEP") != "1" {
		return enginetest.OpenIndex(b), func(string, int) bool { return false }
	}
	cfg := testenv.Require(b, testenv.Elasticsearch)
	c, err := esindex.Open(cfg.ElasticURL, fmt.Sprintf("qebench-%d", urls))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.EnsureTemplates(testenv.Context(b, time.Minute)); err != nil {
		b.Fatal(err)
	}
	return c, func(g string, want int) bool {
		res, err := esapi.CountRequest{Index: []string{c.Names.Pattern(rollup.Granularity(g)), c.Names.Of(esindex.Sites).Pattern(rollup.Granularity(g))}, AllowNoIndices: esapi.BoolPtr(true)}.Do(testenv.Context(b, time.Minute), c.ES)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Count int `json:"count"`
		}
		if res.IsError() || json.NewDecoder(res.Body).Decode(&out) != nil {
			b.Fatalf("count %s: %s", c.Names.Pattern(rollup.Granularity(g)), res.Status())
		}
		return out.Count == want
	}
}

// runQuery runs q b.N times and reports latency percentiles. With slide,
// iteration i moves the range i×slide back, like a dashboard refreshing a
// "last 24 hours" chart as time passes (cycling over 96 positions, 8 hours:
// today's part of a search hardly ever repeats, as with a live index).
func runQuery(b *testing.B, e *queryengine.Engine, q query.Query, slide time.Duration) {
	ctx := testenv.Context(b, 30*time.Minute)
	lat := make([]time.Duration, 0, b.N)
	points := 0
	b.ResetTimer()
	for i := range b.N {
		qi := q
		qi.From, qi.To = q.From.Add(-time.Duration(i%96)*slide), q.To.Add(-time.Duration(i%96)*slide)
		start := time.Now()
		a, err := e.Execute(ctx, qi)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		points = 0
		for _, s := range a.Series {
			points += len(s.Points)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(points), "points")
}

// benchEngines are engines with the default precision threshold (3000)
// without and with the request cache, and with the maximum threshold
// (40000) without it.
func benchEngines(b *testing.B, c *esindex.Client) map[string]*queryengine.Engine {
	out := map[string]*queryengine.Engine{}
	for name, v := range map[string]struct {
		noCache   bool
		threshold int
	}{"nocache": {true, 0}, "cache": {false, 0}, "nocache-t40000": {true, queryengine.MaxPrecisionThreshold}} {
		o := queryengine.DefaultOptions()
		o.Now = func() time.Time { return enginetest.Now }
		o.NoRequestCache = v.noCache
		if v.threshold > 0 {
			o.PrecisionThreshold = v.threshold
		}
		e, err := queryengine.New(c, o)
		if err != nil {
			b.Fatal(err)
		}
		out[name] = e
	}
	return out
}

// BenchmarkQuery24h5m: a 24-hour series of 5-minute buckets (target p99 ≤
// 50 ms), over 33 hours of seeded 5-minute rollups.
func BenchmarkQuery24h5m(b *testing.B) {
	urls := benchURLs(b)
	c, seeded := benchIndex(b, urls)
	to := enginetest.Now.Truncate(5 * time.Minute)
	from := to.Add(-24 * time.Hour)
	start := time.Now()
	n := 2 * (urls*len(benchTuples) + 1) * (int(33*time.Hour/(5*time.Minute)) + 1) // tuple and site documents
	if !seeded("5m", n) {
		n = seedRollups(b, c, "5m", from.Add(-9*time.Hour), to, urls, 2)
	}
	b.Logf("seeded %d 5-minute documents (%d urls × %d tuples + 1 site document, × 2 customers × %d buckets) in %v", n, urls, len(benchTuples), n/(urls*len(benchTuples)+1)/2, time.Since(start).Round(time.Second))
	engines := benchEngines(b, c)
	queries := map[string]query.Query{
		"pageviews+visitors": {Metrics: []string{"pageviews", "visitors"}},
		"all-metrics":        {Metrics: query.Metrics},
		"top10-urls":         {Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"url"}, OrderBy: "-pageviews", Limit: 10},
		"by-category":        {Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"referrer_category"}},
	}
	for _, qn := range []string{"pageviews+visitors", "all-metrics", "top10-urls", "by-category"} {
		for _, en := range []string{"nocache", "cache", "nocache-t40000"} {
			q := queries[qn]
			q.Customer, q.From, q.To, q.Interval = "acme.example", from, to, "5m"
			b.Run(qn+"/"+en, func(b *testing.B) { runQuery(b, engines[en], q, 0) })
		}
		// A sliding window: the range moves by 5 minutes every query.
		for _, en := range []string{"nocache", "cache"} {
			q := queries[qn]
			q.Customer, q.From, q.To, q.Interval = "acme.example", from, to, "5m"
			b.Run(qn+"/sliding-"+en, func(b *testing.B) { runQuery(b, engines[en], q, 5*time.Minute) })
		}
	}
}

// BenchmarkQuery2y1d: a 2-year series of daily buckets (target p99 ≤
// 500 ms), over two years of seeded 1-day rollups.
func BenchmarkQuery2y1d(b *testing.B) {
	urls := benchURLs(b)
	c, seeded := benchIndex(b, urls)
	to := enginetest.Now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	from := to.AddDate(-2, 0, 0)
	start := time.Now()
	n := 2 * (urls*len(benchTuples) + 1) * int(to.Sub(from)/(24*time.Hour)) // tuple and site documents
	if !seeded("1d", n) {
		n = seedRollups(b, c, "1d", from, to.Add(-24*time.Hour), urls, 20)
	}
	b.Logf("seeded %d daily documents (%d urls × %d tuples + 1 site document, × 2 customers × %d days) in %v", n, urls, len(benchTuples), n/(urls*len(benchTuples)+1)/2, time.Since(start).Round(time.Second))
	engines := benchEngines(b, c)
	queries := map[string]query.Query{
		"pageviews":          {Metrics: []string{"pageviews"}},
		"pageviews+visitors": {Metrics: []string{"pageviews", "visitors"}},
		"all-metrics":        {Metrics: query.Metrics},
		"top10-urls":         {Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"url"}, OrderBy: "-pageviews", Limit: 10},
	}
	for _, qn := range []string{"pageviews", "pageviews+visitors", "all-metrics", "top10-urls"} {
		for _, en := range []string{"nocache", "cache", "nocache-t40000"} {
			if qn == "pageviews" && en == "nocache-t40000" {
				continue // no distinct metric
			}
			q := queries[qn]
			q.Customer, q.From, q.To, q.Interval = "acme.example", from, to, "1d"
			b.Run(qn+"/"+en, func(b *testing.B) { runQuery(b, engines[en], q, 0) })
		}
	}
}
