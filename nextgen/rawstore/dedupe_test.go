package rawstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/brooksdata/brooks/nextgen/rawstore"
)

// The Deduper decides exactly what Insert decides, reading Cassandra only
// for what its memory does not cover.
func TestDeduperMatchesInsert(t *testing.T) {
	s, ctx := open(t)
	now := time.Now().UTC()
	past := now.Truncate(time.Hour).Add(-2 * time.Hour) // not covered without Prime
	future := now.Add(3 * time.Hour)                    // it and the hour before: only this writer stores there

	// A predecessor stored these (partition 3) before crashing.
	if _, err := s.Insert(ctx, []rawstore.Record{rec("old-1", past.Add(time.Minute), 3, 1), rec("old-2", past.Add(2*time.Minute), 3, 2)}); err != nil {
		t.Fatal(err)
	}

	F, D := rawstore.Fresh, rawstore.Duplicate
	steps := []struct {
		name   string
		prime  bool
		recs   []rawstore.Record
		want   []rawstore.Outcome
		lookup int // eids looked up in Cassandra in this step
	}{
		{"future hours are known without lookups", false, []rawstore.Record{
			rec("f-1", future, 3, 10), rec("f-2", future.Add(time.Second), 3, 11), rec("f-1", future.Add(2*time.Second), 3, 12),
		}, []rawstore.Outcome{F, F, D}, 0},
		{"a retry of a remembered eid is looked up and found", false, []rawstore.Record{
			rec("f-2", future.Add(time.Minute), 3, 13), rec("f-3", future.Add(time.Minute), 3, 14),
		}, []rawstore.Outcome{D, F}, 1},
		{"uncovered past hours are looked up", false, []rawstore.Record{
			rec("old-2", past.Add(5*time.Minute), 3, 15), rec("old-3", past.Add(5*time.Minute), 3, 16),
		}, []rawstore.Outcome{D, F}, 2},
		{"after Prime the past is known: replayed origins and retries are still exact", true, []rawstore.Record{
			rec("old-1", past.Add(time.Minute), 3, 1), rec("old-1", past.Add(9*time.Minute), 3, 17), rec("old-4", past.Add(9*time.Minute), 3, 18),
		}, []rawstore.Outcome{F, D, F}, 1},
	}
	d := s.NewDeduper(3, now)
	for _, st := range steps {
		if st.prime {
			d = s.NewDeduper(3, now)
			n, err := d.Prime(ctx, []string{"acme.example"}, past, 1000)
			if err != nil || n != 3 {
				t.Fatalf("prime: %d rows, %v; want 3 (old-1, old-2, old-3)", n, err)
			}
		}
		before := d.Stats().LookedUp
		got, err := d.Insert(ctx, st.recs)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: outcomes %v, want %v", st.name, got, st.want)
		}
		if n := d.Stats().LookedUp - before; n != st.lookup {
			t.Errorf("%s: %d eids looked up, want %d", st.name, n, st.lookup)
		}
	}
}

// Prime gives up past its row limit and then covers only future hours.
func TestDeduperPrimeLimit(t *testing.T) {
	s, ctx := open(t)
	now := time.Now().UTC()
	var recs []rawstore.Record
	for i := range 50 {
		recs = append(recs, rec(fmt.Sprintf("e-%d", i), now.Add(-time.Minute), 0, int64(i)))
	}
	if _, err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	d := s.NewDeduper(0, now)
	if n, err := d.Prime(ctx, []string{"acme.example"}, now.Add(-time.Minute), 10); err != nil || n <= 10 {
		t.Fatalf("prime: %d, %v", n, err)
	}
	got, err := d.Insert(ctx, []rawstore.Record{rec("e-3", now, 0, 99), rec("new", now, 0, 100)})
	if err != nil || !slices.Equal(got, []rawstore.Outcome{rawstore.Duplicate, rawstore.Fresh}) {
		t.Fatalf("after an abandoned prime: %v, %v", got, err)
	}
	if d.Stats().LookedUp != 2 {
		t.Errorf("looked up %d, want 2 (nothing covered)", d.Stats().LookedUp)
	}
}
