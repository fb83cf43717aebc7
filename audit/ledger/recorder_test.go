package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// appliedThenFailed is a Writer that passes every write to the real store
// and then, for the first fails writes, reports an error anyway: a write
// that timed out after Cassandra applied it.
type appliedThenFailed struct {
	Writer
	mu      sync.Mutex
	fails   int
	batches []string
}

func (w *appliedThenFailed) Record(ctx context.Context, stage, writer, batch string, tallies map[Key]Tally) error {
	if err := w.Writer.Record(ctx, stage, writer, batch, tallies); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, batch)
	if w.fails > 0 {
		w.fails--
		return errors.New("injected: timed out after the write applied")
	}
	return nil
}

func TestRecorderRetryOfAnAppliedWriteCountsOnce(t *testing.T) {
	store, customer := testStore(t)
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	w := &appliedThenFailed{Writer: store, fails: 2}
	acc := NewAccumulator()
	rec := &Recorder{Acc: acc, Store: w, Stage: StageLegacy, Writer: WriterID("test")}
	ctx := context.Background()

	acc.Add(customer, hour, "a")
	acc.Add(customer, hour, "b")
	if err := rec.Flush(ctx); err == nil {
		t.Fatal("first flush: want the injected error")
	}
	acc.Add(customer, hour, "c") // arrives while the first batch is pending
	if err := rec.Flush(ctx); err == nil {
		t.Fatal("second flush: want the injected error")
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err != nil { // nothing left: no write
		t.Fatal(err)
	}
	hours, err := store.Read(ctx, customer, hour, hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := Tally{}
	for _, id := range []string{"a", "b", "c"} {
		want.Add(id)
	}
	if got := hours[hour][StageLegacy]; got != want {
		t.Fatalf("ledger holds %+v, want %+v (each event once)", got, want)
	}
	// The pending batch was written three times under one id, then the new
	// tallies under the next id.
	if want := []string{"1", "1", "1", "2"}; len(w.batches) != len(want) || w.batches[0] != "1" || w.batches[1] != "1" || w.batches[2] != "1" || w.batches[3] != "2" {
		t.Errorf("batch ids written: %v, want %v", w.batches, want)
	}
}
