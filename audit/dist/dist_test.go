package dist_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/dist"
	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/tee"
)

// stuckSink is an archive whose reads block until the worker is killed:
// a worker caught in the middle of a task.
type stuckSink struct {
	archive.Sink
	once    sync.Once
	stuck   chan struct{}
	release chan struct{}
}

func (s *stuckSink) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.once.Do(func() { close(s.stuck) })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.release:
		return nil, errors.New("worker killed")
	}
}

// TestDistributedReplayWithAKilledWorker replays six hours of a customer
// as hour tasks taken by three workers in one group; the first worker is
// killed while it is in the middle of a task. Its tasks are taken over,
// every hour has exactly one result, and the merged report equals the
// local replay's, cell for cell.
func TestDistributedReplayWithAKilledWorker(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	c := "globex.example"
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-7 * time.Hour)
	urls := []string{"https://globex.example/2026/11/a-story", "https://globex.example/2026/11/b-story", "https://globex.example/about"}
	s.Produce(t, audittest.PastEvents(4, c, urls, h0, 6*time.Hour, 1800))
	s.WaitArchived(t, 1800, h0)
	from, to, now := h0, h0.Add(6*time.Hour), time.Now().Add(time.Hour)
	ro := replay.DefaultOptions()
	ro.Sink, ro.Customers, ro.Legacy, ro.Nextgen, ro.Raw, ro.Now = s.Sink, s.Customers, s.Legacy, s.Nextgen, s.Raw, now
	var local *replay.Report
	audittest.Eventually(t, 2*time.Minute, func() string {
		var err error
		if local, err = replay.Run(testenv.Context(t, time.Minute), ro, c, from, to); err != nil {
			t.Fatal(err)
		}
		if !local.OK() {
			return "local replay not clean yet"
		}
		return ""
	})

	ctx := testenv.Context(t, 5*time.Minute)
	ks, err := cass.Connect(s.Cfg.CassandraHosts, s.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if err := dist.MigrateResults(ctx, ks, s.Keyspace); err != nil {
		t.Fatal(err)
	}
	results := dist.NewResults(ks, s.Keyspace)
	topic, group := testenv.Name("audit_tasks"), testenv.Name("audit_workers")
	if err := (tee.Topic{Brokers: s.Cfg.KafkaBrokers, Name: topic, Partitions: 12}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	worker := func(name string, sink archive.Sink) (stop func()) {
		w, err := dist.NewWorker(dist.WorkerOptions{Brokers: s.Cfg.KafkaBrokers, Topic: topic, Group: group, Name: name,
			Sink: sink, Customers: s.Customers, Results: results, Raw: s.Raw, SessionTimeout: 6 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		var once sync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					t.Logf("worker %s: %v", name, err)
				}
			})
		}
		t.Cleanup(stop)
		return stop
	}
	stuck := &stuckSink{Sink: s.Sink, stuck: make(chan struct{}), release: make(chan struct{})}
	killA := worker("a", stuck)

	type outcome struct {
		rep *replay.Report
		err error
	}
	out := make(chan outcome, 1)
	run := testenv.Name("run")
	go func() {
		rep, err := dist.Replay(ctx, dist.ReplayOptions{Replay: ro, Brokers: s.Cfg.KafkaBrokers, Topic: topic, Results: results, Run: run, Wait: 3 * time.Minute}, c, from, to)
		out <- outcome{rep, err}
	}()
	select {
	case <-stuck.stuck:
	case <-time.After(time.Minute):
		t.Fatal("worker a never took a task")
	}
	worker("b", s.Sink)
	worker("c", s.Sink)
	time.Sleep(time.Second)
	close(stuck.release) // worker a is killed in the middle of its task
	killA()

	o := <-out
	if o.err != nil {
		t.Fatal(o.err)
	}
	got, err := results.List(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, r := range got {
		by[r.Worker]++
	}
	if len(got) != 6 || by["a"] != 0 || by["b"]+by["c"] != 6 {
		t.Fatalf("%d results, by worker %v: want 6, none by the killed worker", len(got), by)
	}
	d := o.rep
	if d.Verdict != local.Verdict || d.Archive.Records != local.Archive.Records || d.Archive.Events != local.Archive.Events || len(d.Cells) != len(local.Cells) {
		t.Fatalf("distributed: %s, %d records, %d events, %d cells; local: %s, %d, %d, %d", d.Verdict, d.Archive.Records, d.Archive.Events, len(d.Cells),
			local.Verdict, local.Archive.Records, local.Archive.Events, len(local.Cells))
	}
	for i := range d.Cells {
		a, b := d.Cells[i], local.Cells[i]
		if a.Verdict != b.Verdict || a.Truth != b.Truth || !a.Bucket.Equal(b.Bucket) || a.Metric != b.Metric {
			t.Fatalf("cell %d: distributed %+v, local %+v", i, a, b)
		}
	}
	if len(d.RawStore) != len(local.RawStore) {
		t.Errorf("raw store hours: distributed %d, local %d", len(d.RawStore), len(local.RawStore))
	}
	t.Logf("6 hour tasks, worker a killed mid-task, results by worker %v; merged report %s with %d cells both right, %d records, equal to the local replay (replay %.2fs local)",
		by, d.Verdict, d.Counts[replay.BothRight], d.Archive.Records, local.ReplaySeconds)
}
