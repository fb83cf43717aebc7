package esindex_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// open returns a client on a unique prefix with templates installed, and
// deletes the prefix's indices and templates when the test ends.
func open(t *testing.T) (*esindex.Client, context.Context) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Elasticsearch)
	c, err := esindex.Open(cfg.ElasticURL, testenv.Name("esidx"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, 2*time.Minute)
	if err := c.EnsureTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureTemplates(ctx); err != nil {
		t.Fatalf("templates are not idempotent: %v", err)
	}
	t.Cleanup(func() {
		if err := c.DeleteAll(context.Background()); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return c, ctx
}

func write(t *testing.T, ctx context.Context, c *esindex.Client, cells []*rollup.Cell) {
	t.Helper()
	var ws []esindex.Write
	for _, cell := range cells {
		ws = append(ws, esindex.Write{Index: c.Names.KeyIndex(cell.Key), ID: esindex.DocID(cell.Registry(), cell.Key, cell.Dims()),
			Doc: esindex.AppendDoc(nil, cell), Create: true})
	}
	res, err := c.Bulk(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.OK() {
			t.Fatalf("write %s: %d %s %s", ws[i].ID, r.Status, r.ErrType, r.ErrReason)
		}
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

func search(t *testing.T, ctx context.Context, c *esindex.Client, index, body string) map[string]any {
	t.Helper()
	res, err := esapi.SearchRequest{Index: []string{index}, Body: strings.NewReader(body)}.Do(ctx, c.ES)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.IsError() {
		t.Fatalf("search %s: %s %v %v", index, res.Status(), err, out)
	}
	return out["aggregations"].(map[string]any)
}

func aggValue(aggs map[string]any, name string) float64 {
	return aggs[name].(map[string]any)["value"].(float64)
}

// A metric and a dimension added to the registry are written to the
// existing index without a reindex (dynamic templates), and documents
// written before read them as 0 / "".
func TestNewMetricWithoutReindex(t *testing.T) {
	c, ctx := open(t)
	cs := testenv.Customers(t)
	at := time.Now().UTC().Truncate(time.Hour)
	mk := func(reg *rollup.Registry, events ...pixel.Event) []*rollup.Cell {
		r := rollup.New(cs, rollup.Options{Registry: reg, Granularities: []rollup.Granularity{rollup.OneDay}})
		for i := range events {
			if err := r.Add(0, int64(i), &events[i]); err != nil {
				t.Fatal(err)
			}
		}
		return r.Cells()
	}
	pv := func(eid string) pixel.Event {
		return pixel.Event{EID: eid, Customer: "acme.example", Type: "pv", ReceivedAt: at, DUID: "v" + eid, VisitIndex: 1, URL: "https://acme.example/post/" + eid}
	}
	write(t, ctx, c, mk(rollup.DefaultRegistry, pv("1"), pv("2")))

	clicks := rollup.Metric{Name: "outbound_clicks", Kind: rollup.Sum, Amount: func(f *rollup.Fact) int64 {
		if f.Event.Type == "se" && f.Event.SECategory == "link" {
			return 1
		}
		return 0
	}}
	lang := rollup.Dimension{Name: "language", Value: func(f *rollup.Fact) string { return f.Event.Raw["lang"] }}
	ext := rollup.MustRegistry(append(rollup.DefaultMetrics(), clicks), append(rollup.DefaultDimensions(), lang))
	click := pixel.Event{EID: "3", Customer: "acme.example", Type: "se", SECategory: "link", SEAction: "click", ReceivedAt: at, URL: "https://acme.example/post/9", Raw: map[string]string{"lang": "de"}}
	write(t, ctx, c, mk(ext, click, pv("4")))

	idx := c.Names.Alias(rollup.OneDay)
	aggs := search(t, ctx, c, idx, `{"size":0,"aggs":{"clicks":{"sum":{"field":"m_outbound_clicks"}},"pv":{"sum":{"field":"m_pageviews"}},
		"de":{"filter":{"term":{"d_language":"de"}}},"docs":{"value_count":{"field":"offset"}}}}`)
	if got := aggValue(aggs, "clicks"); got != 1 {
		t.Errorf("sum of the new metric = %v, want 1", got)
	}
	if got := aggValue(aggs, "pv"); got != 3 {
		t.Errorf("pageviews over old and new docs = %v, want 3", got)
	}
	if got := aggs["de"].(map[string]any)["doc_count"].(float64); got != 1 {
		t.Errorf("docs with the new dimension = %v, want 1", got)
	}
	if got := aggValue(aggs, "docs"); got != 4 {
		t.Errorf("docs = %v, want 4", got)
	}

	res, err := esapi.IndicesGetMappingRequest{Index: []string{idx}}.Do(ctx, c.ES)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.NewDecoder(res.Body).Decode(&mapping); err != nil {
		t.Fatal(err)
	}
	for _, m := range mapping {
		p := m.Mappings.Properties
		if p["m_outbound_clicks"].Type != "long" || p["d_language"].Type != "keyword" || p["v_visitors"].Type != "keyword" || p["bucket"].Type != "date" {
			t.Errorf("mapping: %+v", p)
		}
	}

	// An old document read back with the extended registry: 0 and "".
	old := mk(rollup.DefaultRegistry, pv("1"))[0]
	got, err := c.MGet(ctx, []esindex.DocRef{{Index: c.Names.Index(rollup.OneDay, at), ID: esindex.DocID(rollup.DefaultRegistry, old.Key, old.Dims())}})
	if err != nil || !got[0].Found {
		t.Fatalf("mget old doc: %v %+v", err, got)
	}
	cell, err := esindex.DecodeDoc(ext, got[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	if cell.Sum("outbound_clicks") != 0 || cell.Dim("language") != "" || cell.Sum("pageviews") != 1 {
		t.Errorf("old doc with the new registry: clicks %d language %q pageviews %d", cell.Sum("outbound_clicks"), cell.Dim("language"), cell.Sum("pageviews"))
	}
}

// Visitors merge across buckets, partitions and tuples through the v_*
// sets and a cardinality aggregation. Below precision_threshold the count
// is near-exact; above it, HyperLogLog++ with precision p has relative
// standard error 1.04/sqrt(2^p) (p = 18 at the maximum threshold 40000:
// 0.2%). The test allows 3 standard errors.
func TestVisitorsMergeWithStatedError(t *testing.T) {
	c, ctx := open(t)
	reg := rollup.DefaultRegistry
	day := time.Now().UTC().Truncate(24 * time.Hour)
	tests := []struct {
		name      string
		visitors  int
		threshold int
		maxRelErr float64
	}{
		{"below threshold is near-exact", 5000, 40000, 0.001},
		{"above threshold within 3 standard errors", 60000, 40000, 3 * 1.04 / math.Sqrt(1<<18)},
		{"default threshold 3000 within 3 standard errors", 20000, 3000, 3 * 1.04 / math.Sqrt(1<<14)},
	}
	for ti, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			customer := fmt.Sprintf("test%d.example", ti)
			// Each visitor appears in 3 of 12 cells: 4 partitions × 3 hourly
			// buckets × 2 URLs would double count if summed.
			var cells []*rollup.Cell
			for p := int32(0); p < 4; p++ {
				for b := 0; b < 3; b++ {
					k := rollup.Key{Customer: customer, Granularity: rollup.FiveMinutes, Bucket: day.Add(time.Duration(b) * time.Hour).Unix(), Partition: p,
						Tuple: reg.Tuple([]string{fmt.Sprintf("https://x/%d", b%2), "", "direct", "", "desktop"})}
					cells = append(cells, reg.NewCell(k))
				}
			}
			for v := 0; v < tt.visitors; v++ {
				id := fmt.Sprintf("%08x-visitor-%d", v*2654435761, v)
				for j := 0; j < 3; j++ {
					_ = cells[(v+j*5)%len(cells)].AddMember("visitors", id)
				}
			}
			write(t, ctx, c, cells)
			aggs := search(t, ctx, c, c.Names.Pattern(rollup.FiveMinutes), fmt.Sprintf(
				`{"size":0,"query":{"term":{"customer":%q}},"aggs":{"v":{"cardinality":{"field":"v_visitors","precision_threshold":%d}}}}`, customer, tt.threshold))
			got := aggValue(aggs, "v")
			relErr := math.Abs(got-float64(tt.visitors)) / float64(tt.visitors)
			t.Logf("%d visitors, threshold %d: estimate %.0f (relative error %.5f, allowed %.5f)", tt.visitors, tt.threshold, got, relErr, tt.maxRelErr)
			if relErr > tt.maxRelErr {
				t.Errorf("estimate %.0f for %d visitors: relative error %.5f > %.5f", got, tt.visitors, relErr, tt.maxRelErr)
			}
		})
	}
}

func TestMGetMissingIndexAndRetention(t *testing.T) {
	c, ctx := open(t)
	got, err := c.MGet(ctx, []esindex.DocRef{{Index: c.Names.Index(rollup.FiveMinutes, time.Now()), ID: "nope"}})
	if err != nil || got[0].Found {
		t.Fatalf("mget in a missing index: %+v %v", got, err)
	}
	now := time.Now().UTC()
	reg := rollup.DefaultRegistry
	var cells []*rollup.Cell
	tuple := reg.Tuple([]string{"https://a.example/"})
	for _, age := range []time.Duration{0, 7 * 24 * time.Hour, 10 * 24 * time.Hour} {
		k := rollup.Key{Customer: "a", Granularity: rollup.FiveMinutes, Bucket: rollup.FiveMinutes.Bucket(now.Add(-age)), Tuple: tuple}
		for _, k := range []rollup.Key{k, rollup.SiteKey(k)} {
			cell := reg.NewCell(k)
			_ = cell.SetSum("pageviews", 1)
			cells = append(cells, cell)
		}
	}
	write(t, ctx, c, cells)
	deleted, err := c.DeleteExpired(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	old := now.Add(-10 * 24 * time.Hour)
	want := []string{c.Names.Index(rollup.FiveMinutes, old), c.Names.Of(esindex.Sites).Index(rollup.FiveMinutes, old)}
	if fmt.Sprint(deleted) != fmt.Sprint(want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	for _, f := range esindex.Families {
		left, _ := c.Indices(ctx, f, rollup.FiveMinutes)
		if len(left) != 2 {
			t.Errorf("%q indices left: %v", f, left)
		}
	}
}

// Site documents go to the site indices: "site": true, no dimensions, the
// exact member counts n_* beside the sets, which are kept in _source only
// (read back whole by a realtime get, not aggregatable); sums of n_* give
// per-bucket distinct counts.
func TestSiteDocuments(t *testing.T) {
	c, ctx := open(t)
	cs := testenv.Customers(t)
	at := time.Now().UTC().Truncate(time.Hour)
	r := rollup.New(cs, rollup.Options{Sites: true, Granularities: []rollup.Granularity{rollup.FiveMinutes}})
	for i := range 500 {
		e := pixel.Event{EID: fmt.Sprint(i), Customer: "acme.example", Type: "pv", ReceivedAt: at, DUID: fmt.Sprintf("v%d", i%123),
			VisitIndex: 1 + i%2, URL: fmt.Sprintf("https://acme.example/post/%d", i%17)}
		if err := r.Add(3, int64(i), &e); err != nil {
			t.Fatal(err)
		}
	}
	var site *rollup.Cell
	for _, cell := range r.Cells() {
		if cell.Key.Site() {
			site = cell
		}
	}
	if site == nil {
		t.Fatal("no site cell")
	}
	doc := string(esindex.AppendDoc(nil, site))
	for _, want := range []string{`"site":true`, `"n_visitors":123`, `"m_pageviews":500`} {
		if !strings.Contains(doc, want) {
			t.Errorf("site document lacks %s: %.300s", want, doc)
		}
	}
	if strings.Contains(doc, `"d_url"`) {
		t.Errorf("site document has dimensions: %.300s", doc)
	}
	write(t, ctx, c, r.Cells())
	index := c.Names.KeyIndex(site.Key)
	if !strings.Contains(index, "-rollup-site-5m-") {
		t.Fatalf("site index %s", index)
	}
	got, err := c.MGet(ctx, []esindex.DocRef{{Index: index, ID: esindex.DocID(rollup.DefaultRegistry, site.Key, nil)}})
	if err != nil || !got[0].Found {
		t.Fatalf("mget site document: %v %+v", err, got)
	}
	back, err := esindex.DecodeDoc(rollup.DefaultRegistry, got[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	if back.Key != site.Key || back.Offset != 499 || back.Count("visitors") != 123 || back.Sum("pageviews") != 500 {
		t.Errorf("decoded %+v offset %d visitors %d pageviews %d", back.Key, back.Offset, back.Count("visitors"), back.Sum("pageviews"))
	}
	aggs := search(t, ctx, c, c.Names.Of(esindex.Sites).Pattern(rollup.FiveMinutes),
		`{"size":0,"aggs":{"v":{"sum":{"field":"n_visitors"}},"nv":{"sum":{"field":"n_new_visitors"}},"pv":{"sum":{"field":"m_pageviews"}}}}`)
	if aggValue(aggs, "v") != 123 || aggValue(aggs, "pv") != 500 || aggValue(aggs, "nv") != float64(site.Count("new_visitors")) {
		t.Errorf("sums over site documents: %v", aggs)
	}
	// The tuple indices hold the tuple documents only: their sum is the same.
	aggs = search(t, ctx, c, c.Names.Pattern(rollup.FiveMinutes), `{"size":0,"aggs":{"pv":{"sum":{"field":"m_pageviews"}}}}`)
	if aggValue(aggs, "pv") != 500 {
		t.Errorf("tuple documents sum to %v page views, want 500", aggValue(aggs, "pv"))
	}
}
