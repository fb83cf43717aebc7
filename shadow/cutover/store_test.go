package cutover_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/cutover"
)

func TestStoreTransitionsAndHistory(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := testenv.Context(t, time.Minute)
	r, err := st.Get(ctx, "acme.example")
	if err != nil || r.State != cutover.Legacy || r.Version != 0 {
		t.Fatalf("new customer = %+v, %v; want legacy at version 0", r, err)
	}
	ev := []cutover.Gate{{Name: "nextgen_data", Value: "12", Threshold: "> 0", Pass: true}}
	for i, to := range []cutover.State{cutover.Shadow, cutover.Live, cutover.Shadow} {
		r, err = st.Transition(ctx, r, cutover.Entry{To: to, Actor: "op", Reason: "step", Evidence: ev}, false)
		if err != nil || r.State != to || r.Version != int64(i+1) {
			t.Fatalf("step %d: %+v, %v", i, r, err)
		}
	}
	if _, err := st.Transition(ctx, r, cutover.Entry{To: cutover.Complete, Actor: "op", Reason: "skip"}, false); !errors.Is(err, cutover.ErrIllegal) {
		t.Errorf("shadow → complete: %v, want ErrIllegal", err)
	}
	got, err := st.Get(ctx, "acme.example")
	if err != nil || got.State != cutover.Shadow || got.Version != 3 {
		t.Fatalf("stored %+v, %v", got, err)
	}
	h, err := st.History(ctx, "acme.example")
	if err != nil || len(h) != 3 {
		t.Fatalf("history %+v, %v", h, err)
	}
	want := [][2]cutover.State{{cutover.Legacy, cutover.Shadow}, {cutover.Shadow, cutover.Live}, {cutover.Live, cutover.Shadow}}
	for i, e := range h {
		if e.Version != int64(i+1) || e.From != want[i][0] || e.To != want[i][1] || e.Actor != "op" || len(e.Evidence) != 1 || e.Evidence[0].Value != "12" {
			t.Errorf("history[%d] = %+v", i, e)
		}
	}
	// A stale read loses: the history is not touched.
	stale := cutover.Record{Customer: "acme.example", State: cutover.Live, Version: 2}
	_, err = st.Transition(ctx, stale, cutover.Entry{To: cutover.Complete, Actor: "late", Reason: "stale"}, false)
	var ce *cutover.ConflictError
	if !errors.As(err, &ce) || ce.Current.State != cutover.Shadow || ce.Current.Version != 3 {
		t.Fatalf("stale write: %v, want a conflict showing shadow at 3", err)
	}
	if h, _ := st.History(ctx, "acme.example"); len(h) != 3 {
		t.Errorf("a lost write changed the history: %d entries", len(h))
	}
	rs, err := st.List(ctx)
	if err != nil || len(rs) != 1 || rs[0].State != cutover.Shadow {
		t.Errorf("list %+v, %v", rs, err)
	}
}

// TestStoreConcurrentWriters: writers on their own sessions (as separate
// processes) race from the same read; exactly one wins each round, the
// others get a conflict naming the winner's state.
func TestStoreConcurrentWriters(t *testing.T) {
	_, _, ks := newStore(t)
	ctx := testenv.Context(t, 2*time.Minute)
	const writers = 4
	stores := make([]*cutover.Store, writers)
	for i := range stores {
		stores[i] = cutover.NewStore(session(t, ks), ks)
	}
	cur, _ := stores[0].Get(ctx, "globex.example")
	for round, to := range []cutover.State{cutover.Shadow, cutover.Live, cutover.Complete} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		var winner cutover.Record
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := stores[i].Transition(context.Background(), cur, cutover.Entry{To: to, Actor: "w", Reason: "race"}, false)
				mu.Lock()
				defer mu.Unlock()
				var ce *cutover.ConflictError
				switch {
				case err == nil:
					wins, winner = wins+1, r
				case errors.As(err, &ce) && ce.Current.State == to:
					conflicts++
				default:
					t.Errorf("round %d writer %d: %v", round, i, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || conflicts != writers-1 {
			t.Fatalf("round %d: %d wins, %d conflicts; want 1 and %d", round, wins, conflicts, writers-1)
		}
		cur = winner
	}
	if h, err := stores[1].History(ctx, "globex.example"); err != nil || len(h) != 3 {
		t.Errorf("history %d entries (%v), want 3", len(h), err)
	}
}

// TestPolledSources: two sources (two proxies) on their own sessions see
// a write within the poll interval plus one read.
func TestPolledSources(t *testing.T) {
	st, _, ks := newStore(t)
	ctx := testenv.Context(t, time.Minute)
	a := cutover.NewPolled(cutover.NewStore(session(t, ks), ks), 200*time.Millisecond, nil)
	b := cutover.NewPolled(cutover.NewStore(session(t, ks), ks), 200*time.Millisecond, nil)
	for _, p := range []*cutover.Polled{a, b} {
		if s, err := p.State(ctx, "initech.example"); err != nil || s != cutover.Legacy {
			t.Fatalf("before: %s, %v", s, err)
		}
	}
	cur, _ := st.Get(ctx, "initech.example")
	written := time.Now()
	if _, err := st.Transition(ctx, cur, cutover.Entry{To: cutover.Shadow, Actor: "op", Reason: "poll"}, false); err != nil {
		t.Fatal(err)
	}
	var slowest time.Duration
	for name, p := range map[string]*cutover.Polled{"a": a, "b": b} {
		for {
			s, err := p.State(ctx, "initech.example")
			if err != nil {
				t.Fatal(err)
			}
			if s == cutover.Shadow {
				slowest = max(slowest, time.Since(written))
				break
			}
			if time.Since(written) > 2*time.Second {
				t.Fatalf("source %s still says %s 2 s after the write", name, s)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("state write to every source applying it: %s", slowest)
}
