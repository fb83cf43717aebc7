package api_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/querytest"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// pipeline is the whole of nextgen on the real servers: loadgen traffic
// through a real collector into a fresh Kafka topic, the stream engine
// into a fresh keyspace and index prefix, and the query API over them.
type pipeline struct {
	client    *query.Client
	customers *pixel.Customers
	exp       *loadgen.Expectations
	events    []pixel.Event // the topic's records, as the engine read them
}

func runPipeline(t *testing.T, o loadgen.Options) *pipeline {
	t.Helper()
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Cassandra, testenv.Elasticsearch)
	cfg.Topic, cfg.Keyspace = p.Cfg.Topic, testenv.Name("qee2e")
	ctx := testenv.Context(t, 5*time.Minute)
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, cfg.Keyspace, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := rawstore.Open(cfg.CassandraHosts, cfg.Keyspace, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + cfg.Keyspace).Exec()
			s.Close()
		}
	})
	es := enginetest.OpenIndex(t)
	customers := testenv.Customers(t)

	eo := engine.DefaultOptions()
	eo.Brokers, eo.Topic, eo.Group = cfg.KafkaBrokers, cfg.Topic, testenv.Name("qee2e")
	eo.Customers, eo.Raw, eo.ES = customers, raw, es
	eo.FlushInterval, eo.SessionTimeout = 200*time.Millisecond, 6*time.Second
	eng, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})

	qo := queryengine.DefaultOptions()
	qo.Customers, qo.Raw = customers, raw
	qe, err := queryengine.New(es, qo)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(qe, api.Options{Customers: customers, Registerer: obs.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	exp := stacktest.Send(t, p, o)
	sent := 0
	for _, n := range exp.Sent {
		sent += n
	}
	var events []pixel.Event
	for _, m := range stacktest.ReadTopic(t, p.Cfg, sent, time.Minute, 2*time.Second) {
		e, err := pixel.Unmarshal(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	pl := &pipeline{client: query.NewClient(hs.URL), customers: customers, exp: exp, events: events}
	pl.waitCaughtUp(t)
	t.Logf("loadgen: %d events acknowledged, %d records in the topic, %d expectation cells", sent, len(events), len(exp.Cells))
	return pl
}

// waitCaughtUp polls the API until, for every customer, the 5-minute and
// the daily totals of every additive metric equal loadgen's, read both
// from the site documents (no group-by) and from the tuple documents
// (grouped by device): the engine has applied everything and
// Elasticsearch shows it in both families of indices, which refresh
// independently.
func (p *pipeline) waitCaughtUp(t *testing.T) {
	t.Helper()
	from, to := p.span()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lagging := ""
		for _, cust := range p.customers.IDs() {
			want := p.exp.Total(func(k loadgen.Key) bool { return k.Customer == cust })
			for _, c := range []struct {
				interval string
				groupBy  []string
			}{{"5m", nil}, {"1d", nil}, {"5m", []string{"device"}}, {"1d", []string{"device"}}} {
				interval := c.interval
				f, tt := from, to
				if interval == "1d" {
					f, tt = from.Truncate(24*time.Hour), to.Truncate(24*time.Hour).Add(24*time.Hour)
				}
				a, err := p.client.Do(testenv.Context(t, time.Minute), &query.Query{Customer: cust, Metrics: []string{"pageviews", "engaged_seconds", "video_starts"},
					GroupBy: c.groupBy, From: f, To: tt, Interval: interval})
				if querytest.Unavailable(err) {
					lagging = cust + " (" + err.Error() + ")"
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]float64{}
				for _, s := range a.Series {
					for _, pt := range s.Points {
						for m, v := range pt.Values {
							got[m] += v
						}
					}
				}
				if got["pageviews"] != float64(want.Pageviews) || got["video_starts"] != float64(want.VideoStarts) ||
					got["engaged_seconds"] != float64(want.Pings*p.heartbeat(t, cust)) {
					lagging = cust + " " + interval
				}
			}
		}
		if lagging == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nextgen never caught up with loadgen (%s still differs)", lagging)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// span is the 5-minute-aligned range holding every expected bucket.
func (p *pipeline) span() (from, to time.Time) {
	for _, k := range p.exp.Keys() {
		if from.IsZero() || k.Bucket.Before(from) {
			from = k.Bucket
		}
		if end := k.Bucket.Add(5 * time.Minute); end.After(to) {
			to = end
		}
	}
	return from, to
}

func (p *pipeline) heartbeat(t *testing.T, cust string) int {
	c, err := p.customers.Get(cust)
	if err != nil {
		t.Fatal(err)
	}
	return c.HeartbeatSeconds
}

// expected builds the answer loadgen's expectations imply for a query
// grouped by a subset of {url, referrer_category}, with optional
// referrer_category filters, at 5m, 1d or total: sums of counts, unions
// of visitor sets; ranked like the language ranks (order_by total over the
// range, ties by key).
func (p *pipeline) expected(t *testing.T, q query.Query) *query.Answer {
	t.Helper()
	type acc struct {
		pv, pings, video int
		vis, nv, rv      map[string]struct{}
	}
	newAcc := func() *acc {
		return &acc{vis: map[string]struct{}{}, nv: map[string]struct{}{}, rv: map[string]struct{}{}}
	}
	merge := func(a *acc, c *loadgen.Cell) {
		a.pv, a.pings, a.video = a.pv+c.Pageviews, a.pings+c.Pings, a.video+c.VideoStarts
		maps.Copy(a.vis, c.Visitors)
		maps.Copy(a.nv, c.NewVisitors)
		maps.Copy(a.rv, c.ReturningVisitors)
	}
	hb := float64(p.heartbeat(t, q.Customer))
	values := func(a *acc) map[string]float64 {
		all := map[string]float64{"pageviews": float64(a.pv), "engaged_seconds": float64(a.pings) * hb, "video_starts": float64(a.video),
			"visitors": float64(len(a.vis)), "new_visitors": float64(len(a.nv)), "returning_visitors": float64(len(a.rv))}
		out := map[string]float64{}
		for _, m := range q.Metrics {
			out[m] = all[m]
		}
		return out
	}
	keys := map[string]map[string]string{}
	points := map[string]map[time.Time]*acc{}
	totals := map[string]*acc{}
	for _, k := range p.exp.Keys() {
		if k.Customer != q.Customer || k.Bucket.Before(q.From) || !k.Bucket.Before(q.To) {
			continue
		}
		if f, ok := q.Filters["referrer_category"]; ok && !slices.Contains(f, k.RefCategory) {
			continue
		}
		key := map[string]string{}
		for _, d := range q.GroupBy {
			key[d] = map[string]string{"url": k.URL, "referrer_category": k.RefCategory}[d]
		}
		ks := query.KeyString(key)
		if points[ks] == nil {
			keys[ks], points[ks], totals[ks] = key, map[time.Time]*acc{}, newAcc()
		}
		b := query.BucketStart(k.Bucket, q.Interval, q.From)
		if points[ks][b] == nil {
			points[ks][b] = newAcc()
		}
		merge(points[ks][b], p.exp.Cells[k])
		merge(totals[ks], p.exp.Cells[k])
	}
	nonZero := func(v map[string]float64) bool {
		return slices.ContainsFunc(slices.Collect(maps.Values(v)), func(x float64) bool { return x != 0 })
	}
	var order []string
	for ks, a := range totals {
		if nonZero(values(a)) {
			order = append(order, ks)
		}
	}
	slices.Sort(order)
	if q.OrderBy != "" {
		m, desc := strings.TrimPrefix(q.OrderBy, "-"), strings.HasPrefix(q.OrderBy, "-")
		slices.SortStableFunc(order, func(a, b string) int {
			c := cmp.Compare(values(totals[a])[m], values(totals[b])[m])
			if desc {
				return -c
			}
			return c
		})
		if q.Limit > 0 && len(order) > q.Limit {
			order = order[:q.Limit]
		}
	}
	ans := &query.Answer{}
	for _, ks := range order {
		s := query.Series{Key: keys[ks]}
		for b, a := range points[ks] {
			if v := values(a); nonZero(v) {
				s.Points = append(s.Points, query.Point{T: b, Values: v})
			}
		}
		slices.SortFunc(s.Points, func(x, y query.Point) int { return x.T.Compare(y.T) })
		ans.Series = append(ans.Series, s)
	}
	return ans
}

// TestEndToEndMatchesLoadgen sends seeded loadgen traffic through the
// collector, Kafka and the stream engine, then asks the query API (with
// the Go client) every kind of question and holds each answer to loadgen's
// exact expectations: counts and engaged seconds exactly, visitors within
// the stated bound. Dimensions loadgen does not key by (device, campaign)
// are checked against the oracle over the topic's records, which is first
// shown to agree with loadgen.
func TestEndToEndMatchesLoadgen(t *testing.T) {
	p := runPipeline(t, loadgen.Options{Seed: 42, Events: 6000, Batch: 20, Concurrency: 4})
	from, to := p.span()
	day0, day1 := from.Truncate(24*time.Hour), to.Truncate(24*time.Hour).Add(24*time.Hour)
	all := query.Metrics
	tests := []struct {
		name string
		q    query.Query
	}{
		{"per url per 5m bucket", query.Query{Metrics: all, GroupBy: []string{"url"}, From: from, To: to, Interval: "5m"}},
		{"per url and referrer category per 5m bucket", query.Query{Metrics: all, GroupBy: []string{"url", "referrer_category"}, From: from, To: to, Interval: "5m"}},
		{"by referrer category 5m", query.Query{Metrics: all, GroupBy: []string{"referrer_category"}, From: from, To: to, Interval: "5m"}},
		{"no group 5m", query.Query{Metrics: all, From: from, To: to, Interval: "5m"}},
		{"filtered search and social per url total", query.Query{Metrics: all, GroupBy: []string{"url"}, Filters: map[string][]string{"referrer_category": {"search", "social"}}, From: from, To: to, Interval: "total"}},
		{"total", query.Query{Metrics: all, From: from, To: to, Interval: "total"}},
		{"total whole days", query.Query{Metrics: all, GroupBy: []string{"referrer_category"}, From: day0, To: day1, Interval: "total"}},
		{"1d", query.Query{Metrics: all, GroupBy: []string{"url"}, From: day0, To: day1, Interval: "1d"}},
		{"top 3 urls by pageviews 5m", query.Query{Metrics: all, GroupBy: []string{"url"}, From: from, To: to, Interval: "5m", OrderBy: "-pageviews", Limit: 3}},
		{"top 2 urls by visitors total", query.Query{Metrics: []string{"visitors", "pageviews"}, GroupBy: []string{"url"}, From: from, To: to, Interval: "total", OrderBy: "-visitors", Limit: 2}},
		{"bottom 2 categories by engaged seconds 1d", query.Query{Metrics: []string{"engaged_seconds"}, GroupBy: []string{"referrer_category"}, From: day0, To: day1, Interval: "1d", OrderBy: "engaged_seconds", Limit: 2}},
	}
	for _, tt := range tests {
		for _, cust := range p.customers.IDs() {
			q := tt.q
			q.Customer = cust
			t.Run(tt.name+"/"+cust, func(t *testing.T) {
				want := p.expected(t, q)
				if len(want.Series) == 0 {
					t.Fatal("loadgen expects nothing: the test would be vacuous")
				}
				got, err := p.client.Do(testenv.Context(t, time.Minute), &q)
				if err != nil {
					t.Fatal(err)
				}
				enginetest.SameAnswer(t, want, got, q)
			})
		}
	}

	// The oracle over the topic agrees with loadgen on what loadgen keys by,
	// then judges the other dimensions.
	for _, cust := range p.customers.IDs() {
		q := query.Query{Customer: cust, Metrics: all, GroupBy: []string{"url", "referrer_category"}, From: from, To: to, Interval: "5m"}
		if d := gocmp.Diff(p.expected(t, q).Series, enginetest.Truth(t, p.customers, p.events, q).Series); d != "" {
			t.Fatalf("%s: the oracle over the topic disagrees with loadgen (-loadgen +oracle):\n%s", cust, d)
		}
		for _, q := range []query.Query{
			{Customer: cust, Metrics: all, GroupBy: []string{"device"}, From: from, To: to, Interval: "5m"},
			{Customer: cust, Metrics: all, GroupBy: []string{"campaign", "device"}, From: from, To: to, Interval: "total"},
			{Customer: cust, Metrics: all, GroupBy: []string{"referrer_domain"}, Filters: map[string][]string{"device": {"mobile", "tablet"}}, From: day0, To: day1, Interval: "1d"},
			{Customer: cust, Metrics: all, GroupBy: []string{"campaign"}, Filters: map[string][]string{"campaign": {""}}, From: from, To: to, Interval: "5m"},
			{Customer: cust, Metrics: all, GroupBy: []string{"url", "device"}, From: from, To: to, Interval: "total", OrderBy: "-pageviews", Limit: 5},
		} {
			t.Run(fmt.Sprintf("oracle %v %v %s/%s", q.GroupBy, q.Filters, q.Interval, cust), func(t *testing.T) {
				got, err := p.client.Do(testenv.Context(t, time.Minute), &q)
				if err != nil {
					t.Fatal(err)
				}
				want := enginetest.Truth(t, p.customers, p.events, q)
				if len(want.Series) == 0 {
					t.Fatal("the oracle expects nothing: the test would be vacuous")
				}
				enginetest.SameAnswer(t, want, got, q)
			})
		}
	}
}
