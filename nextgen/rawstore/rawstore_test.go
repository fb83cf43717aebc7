package rawstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
)

// open migrates a fresh keyspace and drops it when the test ends.
func open(t *testing.T) (*rawstore.Store, context.Context) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("rawstore")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatalf("migrate is not idempotent: %v", err)
	}
	s, err := rawstore.Open(cfg.CassandraHosts, ks, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if sess, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = sess.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
			sess.Close()
		}
	})
	return s, ctx
}

func rec(eid string, at time.Time, partition int32, offset int64) rawstore.Record {
	e := pixel.Event{EID: eid, Customer: "acme.example", Type: "pv", ReceivedAt: at, DUID: "v-" + eid, URL: "https://acme.example/post/1"}
	v, _ := e.Marshal()
	return rawstore.Record{Event: e, Value: v, Partition: partition, Offset: offset}
}

func TestInsertDecidesOriginOnce(t *testing.T) {
	s, ctx := open(t)
	h := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	type step struct {
		name string
		recs []rawstore.Record
		want []rawstore.Outcome
	}
	F, D := rawstore.Fresh, rawstore.Duplicate
	steps := []step{
		{"new events, one repeated within the batch", []rawstore.Record{
			rec("a", h.Add(10*time.Minute), 0, 10), rec("b", h.Add(11*time.Minute), 0, 11), rec("a", h.Add(12*time.Minute), 0, 12),
		}, []rawstore.Outcome{F, F, D}},
		{"a retry in the same hour and one in the next hour", []rawstore.Record{
			rec("a", h.Add(40*time.Minute), 0, 13), rec("b", h.Add(70*time.Minute), 0, 14), rec("c", h.Add(71*time.Minute), 0, 15),
		}, []rawstore.Outcome{D, D, F}},
		{"replay of the origins after a crash is fresh again", []rawstore.Record{
			rec("a", h.Add(10*time.Minute), 0, 10), rec("b", h.Add(11*time.Minute), 0, 11), rec("a", h.Add(12*time.Minute), 0, 12), rec("c", h.Add(71*time.Minute), 0, 15),
		}, []rawstore.Outcome{F, F, D, F}},
		{"a retry beyond the lookback is not recognised", []rawstore.Record{
			rec("a", h.Add(130*time.Minute), 0, 16),
		}, []rawstore.Outcome{F}},
	}
	for _, st := range steps {
		got, err := s.Insert(ctx, st.recs)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: outcomes %v, want %v", st.name, got, st.want)
		}
	}
	events, err := s.Read(ctx, "acme.example", h.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var eids []string
	for _, e := range events {
		eids = append(eids, e.EID)
	}
	if !slices.Equal(eids, []string{"a", "b"}) {
		t.Errorf("hour %v holds %v, want [a b]", h, eids)
	}
	if n, err := s.Count(ctx, "acme.example", h.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("next hour count = %d, %v; want 1 (c)", n, err)
	}
	var origin rawstore.Record
	_ = s.Each(ctx, "acme.example", h, func(r rawstore.Record) error {
		if r.Event.EID == "a" {
			origin = r
		}
		return nil
	})
	if origin.Partition != 0 || origin.Offset != 10 || !origin.Event.ReceivedAt.Equal(h.Add(10*time.Minute)) {
		t.Errorf("origin of a: partition %d offset %d at %v", origin.Partition, origin.Offset, origin.Event.ReceivedAt)
	}
}

// A big batch exercises chunked lookups and size-bounded write batches.
func TestInsertLargeBatch(t *testing.T) {
	start := time.Now()
	s, ctx := open(t)
	t.Logf("keyspace ready in %v", time.Since(start))
	h := time.Now().UTC().Truncate(time.Hour)
	var recs []rawstore.Record
	for i := range 3000 {
		r := rec(fmt.Sprintf("e%05d", i%2500), h.Add(time.Duration(i)*time.Millisecond), 1, int64(i))
		r.Value = append(r.Value[:len(r.Value)-1], []byte(fmt.Sprintf(`,"raw":{"pad":"%0600d"}}`, i))...)
		recs = append(recs, r)
	}
	start = time.Now()
	got, err := s.Insert(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d records in %v", len(recs), time.Since(start))
	start = time.Now()
	if _, err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	t.Logf("replayed %d records in %v", len(recs), time.Since(start))
	fresh := 0
	for _, o := range got {
		if o == rawstore.Fresh {
			fresh++
		}
	}
	if fresh != 2500 {
		t.Errorf("fresh = %d, want 2500", fresh)
	}
	if n, err := s.Count(ctx, "acme.example", h); err != nil || n != 2500 {
		t.Errorf("stored %d, %v; want 2500", n, err)
	}
}

// TestMigrateCompaction: a fresh table gets the store's compaction; a
// table made before it was set (Cassandra's default) is moved to it; a
// table whose compaction was chosen otherwise keeps it.
func TestMigrateCompaction(t *testing.T) {
	cfg := testenv.Require(t, testenv.Cassandra)
	ctx := testenv.Context(t, 2*time.Minute)
	s, err := cass.Connect(cfg.CassandraHosts, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	compaction := func(ks string) map[string]string {
		t.Helper()
		var c map[string]string
		if err := s.Query(`SELECT compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?`, ks, rawstore.Table).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name, before string // before: table options of a table made before Migrate; "" for none
		wantMin      string
		wantClass    string
	}{
		{"fresh", "", "8", "SizeTieredCompactionStrategy"},
		{"stock", "comment = 'old'", "8", "SizeTieredCompactionStrategy"},
		{"chosen", "compaction = {'class': 'LeveledCompactionStrategy'}", "4", "LeveledCompactionStrategy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := testenv.Name("rawcompaction")
			defer func() { _ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() }()
			if tc.before != "" {
				if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
					t.Fatal(err)
				}
				if err := s.Query(fmt.Sprintf(`CREATE TABLE %s.raw_events (customer text, hour timestamp, eid text, kafka_partition int,
					kafka_offset bigint, event text, PRIMARY KEY ((customer, hour), eid)) WITH %s`, ks, tc.before)).Exec(); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
					t.Fatal(err)
				}
			}
			c := compaction(ks)
			if !strings.HasSuffix(c["class"], tc.wantClass) || c["min_threshold"] != tc.wantMin {
				t.Errorf("compaction %v, want %s with min_threshold %q", c, tc.wantClass, tc.wantMin)
			}
		})
	}
}
