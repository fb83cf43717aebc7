package tee_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/tee"
)

// recorder is a Handler that keeps every record it got and marks batches
// durable: at once on even partitions, a little later from another
// goroutine on odd ones (as a component flushing in the background does).
type recorder struct {
	mu       sync.Mutex
	got      map[string]int // value → times handled
	assigned map[int][]int64
	revoked  int
}

func newRecorder() *recorder { return &recorder{got: map[string]int{}, assigned: map[int][]int64{}} }

func (r *recorder) Assigned(_ context.Context, c *tee.Claim) error {
	r.mu.Lock()
	r.assigned[c.Partition] = append(r.assigned[c.Partition], c.Start)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Handle(_ context.Context, c *tee.Claim, batch []kafka.Message) error {
	r.mu.Lock()
	for _, m := range batch {
		r.got[string(m.Value)]++
	}
	r.mu.Unlock()
	next := batch[len(batch)-1].Offset + 1
	if c.Partition%2 == 0 {
		c.Durable(next)
	} else {
		time.AfterFunc(50*time.Millisecond, func() { c.Durable(next) })
	}
	return nil
}

func (r *recorder) Tick(context.Context, *tee.Claim) error { return nil }

func (r *recorder) Revoked(context.Context, *tee.Claim) error {
	r.mu.Lock()
	r.revoked++
	r.mu.Unlock()
	return nil
}

func (r *recorder) count() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.got {
		total += n
	}
	return len(r.got), total
}

func produce(t *testing.T, brokers []string, topic string, from, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i % 17)), Value: []byte(fmt.Sprint("r", i))})
	}
	if err := w.WriteMessages(testenv.Context(t, time.Minute), msgs...); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, o tee.Options) (*tee.Consumer, func()) {
	t.Helper()
	c, err := tee.NewConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("Run did not return within a minute of ctx ending")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
	}
}

// TestConsumerCommitsWhatIsDurableAndResumes: every record is handed over
// once, offsets are committed only as marked durable (at once or later),
// lag reads 0 once all is committed although no record flows any more, and
// a new member of the group starts where the first one committed.
func TestConsumerCommitsWhatIsDurableAndResumes(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka)
	topic, group := testenv.Name("tee"), testenv.Name("tee_group")
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: topic, Partitions: 3}).Ensure(testenv.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	produce(t, cfg.KafkaBrokers, topic, 0, n)

	rec := newRecorder()
	o := tee.DefaultOptions()
	o.Brokers, o.Topic, o.Group, o.Handler = cfg.KafkaBrokers, topic, group, rec
	o.MaxBatch, o.TickInterval, o.LagInterval, o.SessionTimeout = 100, 100*time.Millisecond, 200*time.Millisecond, 6*time.Second
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	c, stop := run(t, o)
	waitFor(t, "all records handled", time.Minute, func() bool { d, _ := rec.count(); return d == n })
	waitFor(t, "lag 0 on every partition after traffic stopped", 30*time.Second, func() bool {
		lags := c.Lag()
		if len(lags) != 3 {
			return false
		}
		for _, l := range lags {
			if l != 0 {
				return false
			}
		}
		return true
	})
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	stop()
	if d, total := rec.count(); d != n || total != n {
		t.Fatalf("handled %d distinct, %d total; want %d once each", d, total, n)
	}
	if rec.revoked != 3 {
		t.Errorf("Revoked called %d times, want 3", rec.revoked)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
	}
	for _, name := range []string{"brooks_consumer_records_total", "brooks_consumer_retries_total", "brooks_consumer_commits_total"} {
		if !seen[name] {
			t.Errorf("metric %s not registered", name)
		}
	}

	// A new member resumes from the commits: only the new records.
	produce(t, cfg.KafkaBrokers, topic, n, 300)
	rec2 := newRecorder()
	o.Handler, o.Registerer = rec2, nil
	_, stop2 := run(t, o)
	waitFor(t, "new records handled", time.Minute, func() bool { d, _ := rec2.count(); return d >= 300 })
	time.Sleep(500 * time.Millisecond)
	stop2()
	if d, total := rec2.count(); d != 300 || total != 300 {
		t.Fatalf("second member handled %d distinct, %d total; want only the 300 new records", d, total)
	}
	for p, starts := range rec2.assigned {
		if len(starts) == 0 || starts[0] <= 0 {
			t.Errorf("partition %d claimed at %v: want the committed offset", p, starts)
		}
	}
}

func TestNewConsumerRejectsBadOptions(t *testing.T) {
	h := newRecorder()
	for _, tc := range []struct {
		name string
		o    tee.Options
	}{
		{"no brokers", tee.Options{Topic: "t", Group: "g", Handler: h}},
		{"no topic", tee.Options{Brokers: []string{"x:1"}, Group: "g", Handler: h}},
		{"no group", tee.Options{Brokers: []string{"x:1"}, Topic: "t", Handler: h}},
		{"no handler", tee.Options{Brokers: []string{"x:1"}, Topic: "t", Group: "g"}},
	} {
		if _, err := tee.NewConsumer(tc.o); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// failing fails its first Handle call (a store that was briefly away),
// then records like recorder; or always, with a Fatal error.
type failing struct {
	*recorder
	mu    sync.Mutex
	fails int
	fatal bool
}

func (f *failing) Handle(ctx context.Context, c *tee.Claim, batch []kafka.Message) error {
	f.mu.Lock()
	fail := f.fails > 0 || f.fatal
	if f.fails > 0 {
		f.fails--
	}
	f.mu.Unlock()
	switch {
	case f.fatal:
		return &tee.Fatal{Err: fmt.Errorf("disk full")}
	case fail:
		return fmt.Errorf("store briefly away")
	}
	return f.recorder.Handle(ctx, c, batch)
}

// TestConsumerHandlerErrors: a handler error releases the partition, which
// is taken again from its last commit (nothing lost, Run keeps going); a
// Fatal error makes Run return it.
func TestConsumerHandlerErrors(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka)
	topic := testenv.Name("tee_err")
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: topic, Partitions: 2}).Ensure(testenv.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg.KafkaBrokers, topic, 0, 500)
	o := tee.DefaultOptions()
	o.Brokers, o.Topic, o.Group = cfg.KafkaBrokers, topic, testenv.Name("tee_err_group")
	o.TickInterval, o.SessionTimeout = 100*time.Millisecond, 6*time.Second
	o.Backoff = tee.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	h := &failing{recorder: newRecorder(), fails: 1}
	o.Handler = h
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	c, stop := run(t, o)
	waitFor(t, "all records handled after the failure", time.Minute, func() bool { d, _ := h.count(); return d == 500 })
	if c.Generations() < 2 {
		t.Errorf("generations %d: the failure should have released the partitions and joined again", c.Generations())
	}
	stop()

	o.Group, o.Registerer = testenv.Name("tee_fatal_group"), nil
	o.Handler = &failing{recorder: newRecorder(), fatal: true}
	fc, err := tee.NewConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fc.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Run = %v, want the fatal error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return on a Fatal handler error")
	}
}
