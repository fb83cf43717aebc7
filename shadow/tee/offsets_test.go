package tee

import (
	"testing"
	"time"
)

func TestBackoffIsCappedWithJitter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt int
		r       float64
		want    time.Duration
	}{
		{"first, low jitter", 0, 0, 50 * time.Millisecond},
		{"first, high jitter", 0, 0.999999, 100 * time.Millisecond},
		{"doubles", 3, 0, 400 * time.Millisecond},
		{"capped", 10, 0, 2500 * time.Millisecond},
		{"capped, high jitter", 10, 0.999999, 5 * time.Second},
		{"huge attempt does not overflow", 200, 0, 2500 * time.Millisecond},
	} {
		b := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, rand: func() float64 { return tc.r }}
		got := b.Delay(tc.attempt)
		if diff := got - tc.want; diff < -10*time.Microsecond || diff > 10*time.Microsecond {
			t.Errorf("%s: Delay(%d) = %v, want %v", tc.name, tc.attempt, got, tc.want)
		}
	}
	b := DefaultBackoff()
	for i := 0; i < 100; i++ {
		if d := b.Delay(i % 12); d < 50*time.Millisecond || d > 5*time.Second {
			t.Fatalf("Delay(%d) = %v out of [50ms, 5s]", i%12, d)
		}
	}
}

func TestLag(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		hwm, first, committed int64
		want                  int64
	}{
		{"caught up", 100, 0, 100, 0},
		{"behind", 100, 0, 40, 60},
		{"nothing committed: from the first offset", 100, 30, -1, 70},
		{"empty partition", 0, 0, -1, 0},
		{"committed past a truncated end reads 0, never negative", 50, 0, 60, 0},
	} {
		if got := lag(tc.hwm, tc.first, tc.committed); got != tc.want {
			t.Errorf("%s: lag(%d, %d, %d) = %d, want %d", tc.name, tc.hwm, tc.first, tc.committed, got, tc.want)
		}
	}
}

func TestOffsetsCommitOnlyWhatIsDurable(t *testing.T) {
	o := newOffsets(-2) // kafka.FirstOffset: nothing committed
	if _, ok := o.pending(); ok {
		t.Fatal("pending before anything is durable")
	}
	o.markDurable(10)
	o.markDurable(5) // an older mark never moves it back
	if off, ok := o.pending(); !ok || off != 10 {
		t.Fatalf("pending = %d, %v; want 10, true", off, ok)
	}
	// A failed commit keeps it pending.
	if off, ok := o.pending(); !ok || off != 10 {
		t.Fatalf("pending after a failed commit = %d, %v", off, ok)
	}
	o.done(10)
	if _, ok := o.pending(); ok {
		t.Fatal("pending after commit")
	}
	if o.lastCommitted() != 10 {
		t.Fatalf("committed = %d", o.lastCommitted())
	}
	o.markDurable(10)
	if _, ok := o.pending(); ok {
		t.Fatal("a mark at the committed offset is not pending")
	}
	resumed := newOffsets(42)
	resumed.markDurable(40)
	if _, ok := resumed.pending(); ok {
		t.Fatal("a mark below the assigned offset must not be committed")
	}
}

func TestResumeFromDurable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resume bool
		marks  map[int]int64
		offset int64
		want   int64
	}{
		{"off: the group's commit", false, map[int]int64{0: 100}, 50, 50},
		{"on, no mark", true, nil, 50, 50},
		{"on, mark ahead of the commit", true, map[int]int64{0: 100}, 50, 100},
		{"on, mark ahead of no commit at all", true, map[int]int64{0: 100}, -2, 100},
		{"on, another member committed further", true, map[int]int64{0: 100}, 150, 150},
	} {
		c := &Consumer{o: Options{ResumeFromDurable: tc.resume}, marks: map[int]int64{}}
		for p, m := range tc.marks {
			c.marks[p] = m
		}
		if got := c.resumeAt(0, tc.offset); got != tc.want {
			t.Errorf("%s: resumeAt = %d, want %d", tc.name, got, tc.want)
		}
	}
}
