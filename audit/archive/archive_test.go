package archive

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

// TestArchiveHoldsExactlyTheAcknowledgedEvents runs the real collector,
// Kafka, the archiver and the Cassandra ledger: the archive must hold every
// acknowledged event once, the manifests' tallies must equal the ledger
// tally of loadgen's event ids, and the ledger's collector and archive
// stages must agree.
func TestArchiveHoldsExactlyTheAcknowledgedEvents(t *testing.T) {
	p := stacktest.Start(t)
	testenv.Require(t, testenv.Cassandra)
	_, store := ledgerKeyspace(t)
	start := time.Now().UTC()

	recCtx, stopRec := context.WithCancel(context.Background())
	rec := &ledger.Recorder{Acc: p.Ledger, Store: store, Stage: ledger.StageCollector, Writer: ledger.WriterID("collector"), Interval: 200 * time.Millisecond}
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Run(recCtx) }()

	sink, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runArchiver(t, testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("archive"), sink, store))

	exp := stacktest.Send(t, p, loadgen.Options{Seed: 42, Events: 4000, Batch: 20})
	waitArchived(t, sink, exp, start, time.Minute)
	time.Sleep(time.Second) // room for anything extra to show up
	stop()
	stopRec()
	if err := <-recDone; err != nil {
		t.Fatalf("collector ledger: %v", err)
	}

	seen, perCustomer, parts := archived(t, sink, start, time.Now().Add(time.Hour))
	checkExactlyOnce(t, p.Cfg, seen, exp)
	t.Logf("%d events in %d parts", len(seen), parts)
	for c, ids := range exp.EIDs {
		if got, want := perCustomer[c], tallyOf(ids); got != want {
			t.Errorf("%s: manifests' tally %+v, loadgen's event ids %+v", c, got, want)
		}
		rep, err := Verify(context.Background(), sink, c, start, time.Now().Add(time.Hour))
		if err != nil || !rep.OK() || len(rep.Orphans) > 0 {
			t.Errorf("%s: verify %+v, %v", c, rep, err)
		}
	}

	// The ledger: both stages equal loadgen's tally per customer, and the
	// report finds no disagreement (judged as if the hours had settled).
	ctx := testenv.Context(t, time.Minute)
	for c, ids := range exp.EIDs {
		hours, err := store.Read(ctx, c, start, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var col, arc ledger.Tally
		for _, st := range hours {
			col.Merge(st[ledger.StageCollector])
			arc.Merge(st[ledger.StageArchive])
		}
		if want := tallyOf(ids); col != want || arc != want || int(arc.Count) != exp.Sent[c] {
			t.Errorf("%s ledger: collector %+v, archive %+v, want %+v (%d sent)", c, col, arc, want, exp.Sent[c])
		}
		rep := ledger.Compare(c, hours, start, time.Now().Add(time.Hour), time.Now().Add(3*time.Hour), time.Minute)
		if !rep.OK() || rep.Settled == 0 {
			t.Errorf("%s ledger report: %+v", c, rep)
		}
	}
}

// testOptions are archiver options for tests: fast rolls and rejoins.
func testOptions(brokers []string, topic, group string, sink Sink, store LedgerWriter) Options {
	o := DefaultOptions()
	o.Brokers, o.Topic, o.Group, o.Sink = brokers, topic, group, sink
	if store != nil {
		o.Ledger = store
	}
	o.RollInterval = time.Second
	o.SessionTimeout = 6 * time.Second
	o.Registerer = prometheus.NewRegistry()
	return o
}

// runArchiver runs an archiver until stop (or the end of the test); stop
// fails the test if Run returned an error.
func runArchiver(t testing.TB, o Options) (*Archiver, func()) {
	t.Helper()
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("archiver: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// TestReplayAfterACrashAddsNothing replays the whole topic into an archive
// that already holds it, as a restart does after a crash between closing
// parts and committing their offsets (a new group has no commits at all),
// and with the newest manifest of one customer lost (a crash between a
// part and its manifest): closed parts are skipped, the part without a
// manifest is written again under the same key, and the archive still
// holds every event exactly once.
func TestReplayAfterACrashAddsNothing(t *testing.T) {
	p := stacktest.Start(t)
	sink := NewLocalMust(t, t.TempDir())
	start := time.Now().UTC()
	exp := stacktest.Send(t, p, loadgen.Options{Seed: 3, Events: 3000, Batch: 20})

	_, stop := runArchiver(t, testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("archive"), sink, nil))
	waitArchived(t, sink, exp, start, time.Minute)
	stop()
	_, _, before := archived(t, sink, start, time.Now().Add(time.Hour))

	// Lose the newest manifest of the customer with the most events.
	var cust string
	for c := range exp.EIDs {
		if cust == "" || exp.Sent[c] > exp.Sent[cust] {
			cust = c
		}
	}
	mans, _, err := Manifests(context.Background(), sink, cust, start, time.Now().Add(time.Hour))
	if err != nil || len(mans) == 0 {
		t.Fatalf("manifests of %s: %d, %v", cust, len(mans), err)
	}
	lost := mans[len(mans)-1]
	for _, m := range mans {
		if m.Partition == lost.Partition && m.Hour.Equal(lost.Hour) && m.FirstOffset > lost.FirstOffset {
			lost = m
		}
	}
	if err := os.Remove(filepath.Join(sink.Root(), filepath.FromSlash(lost.ManifestKey()))); err != nil {
		t.Fatal(err)
	}

	group := testenv.Name("archive")
	a, stop := runArchiver(t, testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, group, sink, nil))
	waitCommittedToEnd(t, p.Cfg.KafkaBrokers, p.Cfg.Topic, group, time.Minute)
	stop()

	seen, _, after := archived(t, sink, start, time.Now().Add(time.Hour))
	checkExactlyOnce(t, p.Cfg, seen, exp)
	if after != before {
		t.Errorf("%d parts before the replay, %d after", before, after)
	}
	again, err := ReadManifest(context.Background(), sink, lost.ManifestKey())
	if err != nil {
		t.Fatalf("the part that lost its manifest was not archived again: %v", err)
	}
	if again.Events < lost.Events || again.FirstOffset != lost.FirstOffset {
		t.Errorf("re-archived part %+v, lost %+v", again, lost)
	}
	total := 0
	for _, n := range exp.Sent {
		total += n
	}
	if skipped := counterValue(a.m.skipped.WithLabelValues("replayed")); int(skipped) != total-int(again.Events) {
		t.Errorf("skipped %v replayed records, want %d", skipped, total-int(again.Events))
	}
	if orphans := countFiles(sink.Root(), PartSuffix, false) - countFiles(sink.Root(), ManifestSuffix, false); orphans != 0 {
		t.Errorf("%d parts without a manifest", orphans)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// TestRebalanceKeepsExactlyOnce runs two archivers in one group on one
// archive; when one leaves, the other closes its parts, commits, and takes
// over every partition. Every event stays in exactly one closed part.
func TestRebalanceKeepsExactlyOnce(t *testing.T) {
	p := stacktest.Start(t)
	sink := NewLocalMust(t, t.TempDir())
	start := time.Now().UTC()
	group := testenv.Name("archive")
	a, stopA := runArchiver(t, testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, group, sink, nil))
	b, stopB := runArchiver(t, testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, group, sink, nil))

	// Both must be in the group before traffic, or a may take it all.
	for deadline := time.Now().Add(time.Minute); a.generations() < 1 || b.generations() < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("archivers did not both join the group: a %v, b %v generations", a.generations(), b.generations())
		}
		time.Sleep(100 * time.Millisecond)
	}
	all := loadgen.NewExpectations()
	send := func(seed uint64) {
		exp := stacktest.Send(t, p, loadgen.Options{Seed: seed, Events: 2000, Batch: 20})
		for c, ids := range exp.EIDs {
			all.EIDs[c] = append(all.EIDs[c], ids...)
			all.Sent[c] += exp.Sent[c]
		}
		waitArchived(t, sink, all, start, time.Minute)
	}
	send(11)
	if a.generations() < 1 || b.generations() < 1 {
		t.Fatalf("generations joined: a %v, b %v", a.generations(), b.generations())
	}
	stopA() // leaves the group: b is rebalanced onto every partition
	send(12)
	stopB()
	seen, _, parts := archived(t, sink, start, time.Now().Add(time.Hour))
	checkExactlyOnce(t, p.Cfg, seen, all)
	t.Logf("%d events in %d parts; b joined %v generations", len(seen), parts, b.generations())
	if b.generations() < 2 {
		t.Errorf("b never rebalanced (generations %v)", b.generations())
	}
}
