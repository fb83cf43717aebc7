package cutover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/querytest"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// This file is shadow/proxy's test stack (stack_test.go, and pickPost,
// plantNextgen of shadow_e2e_test.go), copied: test files of another
// package cannot be imported. The engine's registry is kept for the
// freshness gate.

// stack is both systems on the real servers, fed by loadgen traffic
// through a real collector and a fresh Kafka topic: legacy's ingester
// (Redis, FerretDB) and query API, nextgen's stream engine (Cassandra,
// Elasticsearch) and query API, each on a loopback port.
type stack struct {
	legacyURL, nextgenURL string
	legacy, nextgen       *query.Client
	customers             *pixel.Customers
	exp                   *loadgen.Expectations
	rdb                   *redis.Client
	keyPrefix             string
	es                    *esindex.Client
	engineReg             *prometheus.Registry
}

func runStack(t testing.TB, o loadgen.Options) *stack {
	t.Helper()
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB, testenv.Cassandra, testenv.Elasticsearch)
	cfg.Topic = p.Cfg.Topic
	customers := testenv.Customers(t)
	ctx := testenv.Context(t, 5*time.Minute)
	st := &stack{customers: customers, keyPrefix: testenv.Name("shadowlegacy") + ":"}

	// Legacy.
	db := testenv.Name("shadowlegacy")
	lstore, err := legacy.Connect(ctx, cfg.RedisAddr, cfg.MongoURI, db, legacy.Options{KeyPrefix: st.keyPrefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := lstore.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	st.rdb = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var keys []string
		iter := st.rdb.Scan(ctx, 0, st.keyPrefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			st.rdb.Unlink(ctx, keys[:n]...)
			keys = keys[n:]
		}
		st.rdb.Close()
		lstore.Close(ctx)
		if c, err := legacyDropper(ctx, cfg.MongoURI, db); err == nil {
			c()
		}
	})
	lo := legacy.DefaultIngestOptions()
	lo.Brokers, lo.Topic, lo.Group, lo.Customers = cfg.KafkaBrokers, cfg.Topic, testenv.Name("shadowlegacy"), customers
	lo.FlushInterval = 200 * time.Millisecond
	ing, err := legacy.NewIngester(lstore, lo)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "legacy ingester", ing.Run)
	lsrv, err := legacy.NewServer(lstore, legacy.ServerOptions{Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	lts := httptest.NewServer(lsrv)
	t.Cleanup(lts.Close)
	st.legacyURL = lts.URL

	// Nextgen.
	ks := testenv.Name("shadownext")
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := rawstore.Open(cfg.CassandraHosts, ks, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
			s.Close()
		}
	})
	st.es = enginetest.OpenIndex(t)
	eo := engine.DefaultOptions()
	eo.Brokers, eo.Topic, eo.Group = cfg.KafkaBrokers, cfg.Topic, testenv.Name("shadownext")
	eo.Customers, eo.Raw, eo.ES = customers, raw, st.es
	eo.FlushInterval, eo.SessionTimeout = 200*time.Millisecond, 6*time.Second
	st.engineReg = prometheus.NewRegistry()
	eo.Registerer = st.engineReg
	eng, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "nextgen engine", eng.Run)
	qo := queryengine.DefaultOptions()
	qo.Customers, qo.Raw = customers, raw
	qe, err := queryengine.New(st.es, qo)
	if err != nil {
		t.Fatal(err)
	}
	nsrv, err := api.New(qe, api.Options{Customers: customers, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	nts := httptest.NewServer(nsrv.Handler())
	t.Cleanup(nts.Close)
	st.nextgenURL = nts.URL
	st.legacy, st.nextgen = query.NewClient(st.legacyURL), query.NewClient(st.nextgenURL)

	st.exp = stacktest.Send(t, p, o)
	st.waitCaughtUp(t)
	return st
}

func runUntilCleanup(t testing.TB, name string, run func(context.Context) error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// span is the 5-minute-aligned range holding every bucket of the traffic.
func (st *stack) span() (from, to time.Time) {
	for _, k := range st.exp.Keys() {
		if from.IsZero() || k.Bucket.Before(from) {
			from = k.Bucket
		}
		if end := k.Bucket.Add(5 * time.Minute); end.After(to) {
			to = end
		}
	}
	return from, to
}

// waitCaughtUp polls both systems until their page view totals are
// loadgen's: legacy's (posts only) from Redis (5m) and MongoDB (1d),
// nextgen's (every page) from site and tuple documents, 5m and 1d.
func (st *stack) waitCaughtUp(t testing.TB) {
	t.Helper()
	from, to := st.span()
	day, nextDay := from.Truncate(24*time.Hour), to.Truncate(24*time.Hour).Add(24*time.Hour)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		lagging := ""
		for _, cust := range st.customers.IDs() {
			c, _ := st.customers.Get(cust)
			all := st.exp.Total(func(k loadgen.Key) bool { return k.Customer == cust }).Pageviews
			posts := st.exp.Total(func(k loadgen.Key) bool { return k.Customer == cust && c.IsPost(k.URL) }).Pageviews
			checks := []struct {
				cl       *query.Client
				interval string
				groupBy  []string
				want     int
			}{
				{st.legacy, "5m", nil, posts}, {st.legacy, "1d", []string{"url"}, posts},
				{st.nextgen, "5m", nil, all}, {st.nextgen, "1d", nil, all}, {st.nextgen, "5m", []string{"url"}, all}, {st.nextgen, "1d", []string{"url"}, all},
			}
			for _, ch := range checks {
				f, tt := from, to
				if ch.interval == "1d" {
					f, tt = day, nextDay
				}
				a, err := ch.cl.Do(testenv.Context(t, time.Minute), &query.Query{Customer: cust, Metrics: []string{"pageviews"}, GroupBy: ch.groupBy, From: f, To: tt, Interval: ch.interval})
				if querytest.Unavailable(err) {
					lagging = cust + " (" + err.Error() + ")"
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := sum(a, "pageviews"); got != float64(ch.want) {
					lagging = cust + " " + ch.interval + " " + strings.Join(ch.groupBy, ",")
				}
			}
		}
		if lagging == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the systems never caught up with loadgen (%s still differs)", lagging)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func sum(a *query.Answer, metric string) float64 {
	var s float64
	for _, se := range a.Series {
		for _, p := range se.Points {
			s += p.Values[metric]
		}
	}
	return s
}

func pickPost(t *testing.T, st *stack, customer string) loadgen.Key {
	t.Helper()
	c, _ := st.customers.Get(customer)
	var best loadgen.Key
	n := 0
	for k, cell := range st.exp.Cells {
		if k.Customer == customer && c.IsPost(k.URL) && cell.Pageviews > n && time.Since(k.Bucket) < 55*time.Minute {
			best, n = k, cell.Pageviews
		}
	}
	if n == 0 {
		t.Fatalf("no post traffic for %s", customer)
	}
	return best
}

// plantNextgen adds delta page views to one 5-minute tuple document of url
// in Elasticsearch: read it, change it, write it back. It returns a
// function that writes the document back as it was.
func (st *stack) plantNextgen(t *testing.T, customer, url string, bucket time.Time, delta int) (undo func(*testing.T)) {
	t.Helper()
	es := st.es.ES
	ctx := testenv.Context(t, time.Minute)
	q := fmt.Sprintf(`{"size":1,"query":{"bool":{"filter":[{"term":{"customer":%q}},{"term":{"d_url":%q}},{"term":{"bucket":%q}}]}}}`,
		customer, url, bucket.Format(time.RFC3339))
	res, err := es.Search(es.Search.WithContext(ctx), es.Search.WithIndex(st.es.Names.Alias("5m")), es.Search.WithBody(strings.NewReader(q)))
	if err != nil {
		t.Fatal(err)
	}
	raw := readAll(res.Body)
	res.Body.Close()
	var found struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if res.IsError() || json.Unmarshal([]byte(raw), &found) != nil || len(found.Hits.Hits) == 0 {
		t.Fatalf("find the rollup document of %s %s: %s %.300s", url, bucket, res.Status(), raw)
	}
	h := found.Hits.Hits[0]
	write := func(t *testing.T, src map[string]any) {
		doc, _ := json.Marshal(src)
		res, err := es.Index(h.Index, bytes.NewReader(doc), es.Index.WithDocumentID(h.ID), es.Index.WithRefresh("true"),
			es.Index.WithContext(testenv.Context(t, time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		raw := readAll(res.Body)
		res.Body.Close()
		if res.IsError() {
			t.Fatalf("rewrite %s/%s: %s %.300s", h.Index, h.ID, res.Status(), raw)
		}
	}
	orig := map[string]any{}
	for k, v := range h.Source {
		orig[k] = v
	}
	h.Source["m_pageviews"] = h.Source["m_pageviews"].(float64) + float64(delta)
	write(t, h.Source)
	return func(t *testing.T) { write(t, orig) }
}

func readAll(r interface{ Read([]byte) (int, error) }) string {
	var b bytes.Buffer
	b.ReadFrom(r)
	return b.String()
}

func legacyDropper(ctx context.Context, uri, db string) (func(), error) {
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		return nil, err
	}
	return func() {
		_ = c.Database(db).Drop(ctx)
		_ = c.Disconnect(ctx)
	}, nil
}
