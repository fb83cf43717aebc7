package queryengine_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
)

// rawDoc builds a rollup document by hand, for shapes the engine does not
// write today (missing fields) and for large visitor sets.
func rawDoc(t testing.TB, c *esindex.Client, id string, bucket time.Time, fields map[string]any) esindex.Write {
	t.Helper()
	doc := map[string]any{"customer": "acme.example", "bucket": bucket.Format(time.RFC3339), "granularity": "5m", "partition": 0, "offset": 1}
	for k, v := range fields {
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return esindex.Write{Index: c.Names.Index("5m", bucket), ID: id, Doc: b}
}

// TestDistinctCountBound checks the stated error of distinct counts on the
// real Elasticsearch, in both regimes (linear counting, HyperLogLog) of
// both the default and the maximum precision threshold: visitor sets that
// overlap across documents and buckets add up to exactly n distinct ids,
// and the answer is within queryengine.Tolerance and states the bound.
func TestDistinctCountBound(t *testing.T) {
	c := enginetest.OpenIndex(t)
	start := enginetest.Now.Truncate(time.Hour).Add(-2 * time.Hour)
	cases := []struct {
		url       string
		n         int
		threshold int
		rse       float64
	}{
		{"https://acme.example/post/a", 2500, queryengine.DefaultPrecisionThreshold, queryengine.LinearCountingRSE},
		{"https://acme.example/post/b", 60000, queryengine.DefaultPrecisionThreshold, queryengine.HyperLogLogRSE(queryengine.DefaultPrecisionThreshold)},
		{"https://acme.example/post/c", 30000, queryengine.MaxPrecisionThreshold, queryengine.LinearCountingRSE},
		{"https://acme.example/post/d", 120000, queryengine.MaxPrecisionThreshold, queryengine.HyperLogLogRSE(queryengine.MaxPrecisionThreshold)},
	}
	var writes []esindex.Write
	for _, cs := range cases {
		const per, stride = 500, 400 // each doc shares 100 ids with the next
		for j := 0; j*stride < cs.n; j++ {
			ids := make([]string, per)
			for k := range ids {
				ids[k] = fmt.Sprintf("visitor-%d", (j*stride+k)%cs.n)
			}
			b := start.Add(time.Duration(j%24) * 5 * time.Minute)
			writes = append(writes, rawDoc(t, c, fmt.Sprintf("%s|%d", cs.url, j), b, map[string]any{
				"d_url": cs.url, "d_referrer_domain": "", "d_referrer_category": "direct", "d_campaign": "", "d_device": "desktop",
				"m_pageviews": per, "v_visitors": ids,
			}))
		}
	}
	enginetest.WriteDocs(t, c, writes)
	for _, cs := range cases {
		t.Run(fmt.Sprintf("%d distinct, threshold %d", cs.n, cs.threshold), func(t *testing.T) {
			o := queryengine.DefaultOptions()
			o.Now, o.PrecisionThreshold = func() time.Time { return enginetest.Now }, cs.threshold
			e, err := queryengine.New(c, o)
			if err != nil {
				t.Fatal(err)
			}
			q := query.Query{Customer: "acme.example", Metrics: []string{"visitors"}, Filters: map[string][]string{"url": {cs.url}},
				From: start, To: start.Add(2 * time.Hour), Interval: "total"}
			a, err := e.Execute(testenv.Context(t, time.Minute), q)
			if err != nil {
				t.Fatal(err)
			}
			got := a.Series[0].Points[0].Values["visitors"]
			if tol := queryengine.Tolerance(float64(cs.n), cs.rse); math.Abs(got-float64(cs.n)) > tol {
				t.Errorf("visitors = %v, want %d within %v", got, cs.n, tol)
			}
			stated := a.Approximate["visitors"].RelativeStdError
			if stated < cs.rse || stated > cs.rse*1.01 {
				t.Errorf("stated relative standard error %v, want %v", stated, cs.rse)
			}
			t.Logf("n=%d: got %v (error %+.5f%%, stated σ %.5f%%)", cs.n, got, 100*(got-float64(cs.n))/float64(cs.n), 100*stated)
		})
	}
}

// TestMissingFieldsReadAsZero: a metric absent from a document (one added
// after it was written) counts 0, and a document without a dimension field
// groups under "".
func TestMissingFieldsReadAsZero(t *testing.T) {
	c := enginetest.OpenIndex(t)
	b := enginetest.Now.Truncate(time.Hour)
	enginetest.WriteDocs(t, c, []esindex.Write{
		rawDoc(t, c, "old", b, map[string]any{"d_url": "https://acme.example/post/1", "m_pageviews": 3}),
		rawDoc(t, c, "new", b, map[string]any{"d_url": "https://acme.example/post/1", "d_campaign": "spring", "m_pageviews": 2, "m_video_starts": 1}),
		rawDoc(t, c, "blank", b.Add(5*time.Minute), map[string]any{"d_url": "https://acme.example/post/1", "d_campaign": "", "m_pageviews": 4}),
	})
	q := query.Query{Customer: "acme.example", Metrics: []string{"pageviews", "video_starts"}, GroupBy: []string{"campaign"},
		From: b, To: b.Add(time.Hour), Interval: "total"}
	a, err := newEngine(t, c, 1000).Execute(testenv.Context(t, time.Minute), q)
	if err != nil {
		t.Fatal(err)
	}
	want := &query.Answer{Series: []query.Series{
		{Key: map[string]string{"campaign": ""}, Points: []query.Point{{T: b, Values: map[string]float64{"pageviews": 7, "video_starts": 0}}}},
		{Key: map[string]string{"campaign": "spring"}, Points: []query.Point{{T: b, Values: map[string]float64{"pageviews": 2, "video_starts": 1}}}},
	}}
	enginetest.SameAnswer(t, want, a, q)
}
