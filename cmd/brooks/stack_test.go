package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
)

// dualStack is both systems on the real servers, fed from one fresh topic
// through a real collector: legacy's ingester and query API over a Redis
// key prefix and a Mongo database of the test's own, nextgen's stream
// engine and query API over a keyspace and index prefix of its own.
type dualStack struct {
	p                     *stacktest.Pipeline
	legacyURL, nextgenURL string
}

func startDual(t *testing.T) *dualStack {
	t.Helper()
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB, testenv.Cassandra, testenv.Elasticsearch)
	cfg.Topic = p.Cfg.Topic
	customers := testenv.Customers(t)
	ctx := testenv.Context(t, 5*time.Minute)
	run := func(name string, fn func(context.Context) error) {
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fn(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}

	// Legacy.
	prefix, db := testenv.Name("cmp")+":", testenv.Name("cmp")
	store, err := legacy.Connect(ctx, cfg.RedisAddr, cfg.MongoURI, db, legacy.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupLegacy(t, cfg.RedisAddr, cfg.MongoURI, prefix, db); store.Close(context.Background()) })
	lo := legacy.DefaultIngestOptions()
	lo.Brokers, lo.Topic, lo.Group, lo.Customers = cfg.KafkaBrokers, cfg.Topic, testenv.Name("cmp-legacy"), customers
	lo.FlushInterval = 300 * time.Millisecond
	in, err := legacy.NewIngester(store, lo)
	if err != nil {
		t.Fatal(err)
	}
	run("legacy ingest", in.Run)
	lsrv, err := legacy.NewServer(store, legacy.ServerOptions{Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	lhs := httptest.NewServer(lsrv)
	t.Cleanup(lhs.Close)

	// Nextgen.
	keyspace := testenv.Name("cmp")
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, keyspace, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := rawstore.Open(cfg.CassandraHosts, keyspace, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + keyspace).Exec()
			s.Close()
		}
	})
	es := enginetest.OpenIndex(t)
	eo := engine.DefaultOptions()
	eo.Brokers, eo.Topic, eo.Group = cfg.KafkaBrokers, cfg.Topic, testenv.Name("cmp-nextgen")
	eo.Customers, eo.Raw, eo.ES = customers, raw, es
	eo.FlushInterval, eo.SessionTimeout = 200*time.Millisecond, 6*time.Second
	eng, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	run("nextgen engine", eng.Run)
	qo := queryengine.DefaultOptions()
	qo.Customers, qo.Raw = customers, raw
	qe, err := queryengine.New(es, qo)
	if err != nil {
		t.Fatal(err)
	}
	nsrv, err := api.New(qe, api.Options{Customers: customers, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	nhs := httptest.NewServer(nsrv.Handler())
	t.Cleanup(nhs.Close)
	return &dualStack{p: p, legacyURL: lhs.URL, nextgenURL: nhs.URL}
}

// cleanupLegacy deletes the test's Redis keys and Mongo database.
func cleanupLegacy(t *testing.T, redisAddr, mongoURI, prefix, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 1000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(mongoURI))
	if err != nil {
		t.Logf("cleanup mongo: %v", err)
		return
	}
	defer mc.Disconnect(ctx)
	if err := mc.Database(db).Drop(ctx); err != nil {
		t.Logf("drop %s: %v", db, err)
	}
}
