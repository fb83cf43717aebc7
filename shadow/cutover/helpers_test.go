package cutover_test

import (
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/cutover"
)

// newStore makes a keyspace of the test's own on the real Cassandra with
// the cutover table, dropped when the test ends.
func newStore(t testing.TB) (*cutover.Store, *gocql.Session, string) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("cutover")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		s.Close()
	})
	if err := cutover.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	return cutover.NewStore(s, ks), s, ks
}

// session is another connection to ks, as another process would have.
func session(t testing.TB, ks string) *gocql.Session {
	t.Helper()
	s, err := cass.Connect(testenv.Config(t).CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
