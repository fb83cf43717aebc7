package ledger

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// shared is one migrated keyspace on the real Cassandra for the package's
// tests (schema changes take seconds); tests use their own customer ids.
var shared struct {
	once    sync.Once
	session *gocql.Session
	ks      string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.session != nil {
		shared.session.Query("DROP KEYSPACE IF EXISTS " + shared.ks).Exec()
		shared.session.Close()
	}
	os.Exit(code)
}

// testStore returns a store on the shared test keyspace and a customer id
// unique to the test.
func testStore(t *testing.T) (*Store, string) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Cassandra)
	shared.once.Do(func() {
		shared.ks = testenv.Name("ledger")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if shared.err = cass.EnsureKeyspace(ctx, cfg.CassandraHosts, shared.ks, 1); shared.err != nil {
			return
		}
		if shared.session, shared.err = cass.Connect(cfg.CassandraHosts, shared.ks); shared.err != nil {
			return
		}
		if shared.err = Migrate(ctx, shared.session, shared.ks); shared.err == nil {
			shared.err = Migrate(ctx, shared.session, shared.ks) // idempotent
		}
	})
	if shared.err != nil {
		t.Fatalf("ledger test keyspace: %v", shared.err)
	}
	return NewStore(shared.session, shared.ks), testenv.Name(t.Name())
}

func TestStoreRecordIsIdempotentPerBatch(t *testing.T) {
	st, cust := testStore(t)
	ctx := testenv.Context(t, time.Minute)
	h := time.Now().UTC().Truncate(time.Hour)
	k := Key{Customer: cust, Hour: h}
	a, b := tallyOf("e1", "e2"), tallyOf("e3")
	if err := st.Record(ctx, StageArchive, "archiver", "part-1", map[Key]Tally{k: a}); err != nil {
		t.Fatal(err)
	}
	// The same batch again (a retry) overwrites; another batch adds.
	for range 2 {
		if err := st.Record(ctx, StageArchive, "archiver", "part-2", map[Key]Tally{k: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Record(ctx, StageCollector, "collector@x", "1", map[Key]Tally{k: tallyOf("e1", "e2", "e3")}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Read(ctx, cust, h.Add(-time.Hour), h.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := tallyOf("e1", "e2", "e3")
	if got[h][StageArchive] != want || got[h][StageCollector] != want {
		t.Errorf("read %v, want both stages %v", got[h], want)
	}
	if len(got) != 1 {
		t.Errorf("hours %v, want only %s", got, h)
	}
	if r := Compare(cust, got, h, h.Add(time.Hour), h.Add(2*time.Hour), time.Minute); !r.OK() || r.Settled != 1 {
		t.Errorf("report %+v", r)
	}
}

func TestRecorderFlushesToCassandra(t *testing.T) {
	st, cust := testStore(t)
	acc := NewAccumulator()
	rec := &Recorder{Acc: acc, Store: st, Stage: StageCollector, Writer: WriterID("collector"), Interval: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()

	h := time.Now().UTC().Truncate(time.Hour)
	var want Tally
	for i := range 500 {
		id := fmt.Sprintf("eid-%d", i)
		acc.Add(cust, h.Add(time.Minute), id)
		want.Add(id)
		if i == 250 {
			time.Sleep(120 * time.Millisecond) // let a periodic flush happen mid-way
		}
	}
	cancel() // the final flush records the rest
	if err := <-done; err != nil {
		t.Fatalf("recorder: %v", err)
	}
	got, err := st.Read(testenv.Context(t, time.Minute), cust, h, h.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got[h][StageCollector] != want {
		t.Errorf("ledger %v, want %v", got[h][StageCollector], want)
	}
}

func TestRecorderKeepsTalliesWhenTheStoreFails(t *testing.T) {
	st, cust := testStore(t)
	broken := NewStore(st.session, "no_such_keyspace_here")
	acc := NewAccumulator()
	h := time.Now().UTC().Truncate(time.Hour)
	acc.Add(cust, h, "x1")
	rec := &Recorder{Acc: acc, Store: broken, Stage: StageCollector, Writer: "w"}
	if err := rec.Flush(testenv.Context(t, time.Minute)); err == nil {
		t.Fatal("flush to a missing keyspace succeeded")
	}
	rec.Store = st
	if err := rec.Flush(testenv.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Read(testenv.Context(t, time.Minute), cust, h, h.Add(time.Hour))
	if got[h][StageCollector] != tallyOf("x1") {
		t.Errorf("after retry: %v", got[h])
	}
}

func TestLazyConnectsOnUse(t *testing.T) {
	st, cust := testStore(t)
	cfg := testenv.Config(t)
	down := NewLazy([]string{"127.0.0.1:1"}, st.keyspace)
	if err := down.Record(testenv.Context(t, time.Minute), StageArchive, "a", "b", map[Key]Tally{{Customer: cust, Hour: time.Now().UTC().Truncate(time.Hour)}: tallyOf("x")}); err == nil {
		t.Error("record through an unreachable Cassandra succeeded")
	}
	l := NewLazy(cfg.CassandraHosts, st.keyspace)
	defer l.Close()
	h := time.Now().UTC().Truncate(time.Hour)
	if err := l.Record(testenv.Context(t, time.Minute), StageArchive, "archiver", "p1", map[Key]Tally{{Customer: cust, Hour: h}: tallyOf("x")}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Read(testenv.Context(t, time.Minute), cust, h, h.Add(time.Hour))
	if err != nil || got[h][StageArchive] != tallyOf("x") {
		t.Errorf("read %v, %v", got, err)
	}
}
