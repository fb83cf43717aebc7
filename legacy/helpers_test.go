package legacy

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/query"
)

// newTestStore connects to the real Redis and FerretDB with a key prefix
// and a database of the test's own, created and dropped with the test.
func newTestStore(t testing.TB, opts Options) (*Store, config.Config) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Redis, testenv.FerretDB)
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = testenv.Name("legacytest") + ":"
	}
	db := testenv.Name("legacy")
	ctx := testenv.Context(t, time.Minute)
	s, err := Connect(ctx, cfg.RedisAddr, cfg.MongoURI, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		deleteKeys(ctx, t, s.rdb, s.opts.KeyPrefix)
		if err := s.db.Drop(ctx); err != nil {
			t.Logf("drop %s: %v", db, err)
		}
		s.Close(ctx)
	})
	return s, cfg
}

func deleteKeys(ctx context.Context, t testing.TB, rdb redis.UniversalClient, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
	if err := iter.Err(); err != nil {
		t.Logf("delete %s*: %v", prefix, err)
	}
}

// newTestAPI serves store's query API on a loopback port and returns a
// client for it.
func newTestAPI(t testing.TB, s *Store) *query.Client {
	t.Helper()
	srv, err := NewServer(s, ServerOptions{Customers: testenv.Customers(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return query.NewClient(ts.URL)
}

// cells flattens an answer to series key → point time → metric value.
func cells(a *query.Answer, metric string) map[string]map[time.Time]float64 {
	out := map[string]map[time.Time]float64{}
	for _, s := range a.Series {
		k := query.KeyString(s.Key)
		for _, p := range s.Points {
			v, ok := p.Values[metric]
			if !ok {
				continue
			}
			if out[k] == nil {
				out[k] = map[time.Time]float64{}
			}
			out[k][p.T] = v
		}
	}
	return out
}

// withinHLL reports whether an approximate count is within 3 standard
// errors of Redis' HyperLogLog, plus a small absolute slack for tiny counts.
func withinHLL(got, want float64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= 3*HLLRelativeStdError*want+2
}
