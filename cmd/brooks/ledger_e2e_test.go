package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
)

// TestLedgerShowsLegacyDoubleCounts is the case on the real stack:
// a tracker retries old event ids (the same events sent again, long after
// legacy's dedupe window); the collector and the archive receive them
// twice, as they should, and legacy counts those that fell outside its
// dedupe window twice, as System One does. The ledger's legacy column is
// what legacy answers, and the ledger says by how much it exceeds the
// distinct post page views, with the hour, instead of "all stages agree".
func TestLedgerShowsLegacyDoubleCounts(t *testing.T) {
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB, testenv.Cassandra)
	customers := testenv.Customers(t)
	ctx := testenv.Context(t, 5*time.Minute)
	run := func(name string, fn func(context.Context) error) {
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fn(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}

	ks := testenv.Name("ledgere2e")
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	session, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(); session.Close() })
	if err := ledger.Migrate(ctx, session, ks); err != nil {
		t.Fatal(err)
	}
	store := ledger.NewStore(session, ks)

	// Archive.
	archiveDir := filepath.Join(t.TempDir(), "archive")
	sink, err := archive.NewLocal(archiveDir)
	if err != nil {
		t.Fatal(err)
	}
	ao := archive.DefaultOptions()
	ao.Brokers, ao.Topic, ao.Group, ao.Sink, ao.Ledger = cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("ledgere2e-archive"), sink, store
	ao.RollInterval, ao.SessionTimeout, ao.Registerer = 500*time.Millisecond, 6*time.Second, prometheus.NewRegistry()
	arch, err := archive.New(ao)
	if err != nil {
		t.Fatal(err)
	}
	run("archive", arch.Run)

	// Legacy, with its ledger stage.
	prefix, db := testenv.Name("ledgere2e")+":", testenv.Name("ledgere2e")
	lstore, err := legacy.Connect(ctx, cfg.RedisAddr, cfg.MongoURI, db, legacy.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := lstore.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupLegacy(t, cfg.RedisAddr, cfg.MongoURI, prefix, db); lstore.Close(context.Background()) })
	lo := legacy.DefaultIngestOptions()
	lo.Brokers, lo.Topic, lo.Group, lo.Customers = cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("ledgere2e-legacy"), customers
	legacyAcc := ledger.NewAccumulator()
	lo.FlushInterval, lo.Ledger = 200*time.Millisecond, legacyAcc
	in, err := legacy.NewIngester(lstore, lo)
	if err != nil {
		t.Fatal(err)
	}
	run("legacy ingest", in.Run)
	for stage, acc := range map[string]*ledger.Accumulator{ledger.StageLegacy: legacyAcc, ledger.StageCollector: p.Ledger} {
		rec := &ledger.Recorder{Acc: acc, Store: store, Stage: stage, Writer: ledger.WriterID(stage), Interval: 200 * time.Millisecond}
		run(stage+" ledger", rec.Run)
	}

	// The traffic, then the same events again a few seconds later: a
	// tracker retrying old event ids.
	start := time.Now().UTC()
	seed := loadgen.NewSeed()
	exp := stacktest.Send(t, p, loadgen.Options{Seed: seed, Events: 1500})
	time.Sleep(3 * time.Second) // well past legacy's dedupe window (two flush windows)
	stacktest.Send(t, p, loadgen.Options{Seed: seed, Events: 1500})
	const cust = "acme.example"
	c, _ := customers.Get(cust)
	posts := exp.Total(func(k loadgen.Key) bool { return k.Customer == cust && c.IsPost(k.URL) }).Pageviews
	sent := exp.Sent[cust]

	// Wait until legacy has flushed every record of both sends and every
	// stage's tally is recorded.
	total := 0
	for _, n := range exp.Sent {
		total += n
	}
	deadline := time.Now().Add(2 * time.Minute)
	var leg ledger.Tally
	for stable := 0; stable < 5; {
		hours, err := store.Read(ctx, cust, start.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var col, arc, l ledger.Tally
		for _, st := range hours {
			col.Merge(st[ledger.StageCollector])
			arc.Merge(st[ledger.StageArchive])
			l.Merge(st[ledger.StageLegacy])
		}
		st := in.Stats()
		if col.Count == int64(2*sent) && arc.Count == int64(2*sent) && st.Flushed == int64(2*total) && l == leg {
			stable++
		} else {
			stable = 0
		}
		leg = l
		if time.Now().After(deadline) {
			t.Fatalf("stages never caught up: collector %d, archive %d (want %d), legacy flushed %d records (want %d), legacy tally %d",
				col.Count, arc.Count, 2*sent, st.Flushed, 2*total, l.Count)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if leg.Count <= int64(posts) {
		t.Fatalf("legacy counted %d post page views of %d distinct: no retry counted twice; the test proves nothing", leg.Count, posts)
	}

	// The ledger's legacy column is what legacy answers.
	lsrv, err := legacy.NewServer(lstore, legacy.ServerOptions{Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	lhs := httptest.NewServer(lsrv)
	defer lhs.Close()
	from := start.Truncate(5 * time.Minute)
	ans, err := query.NewClient(lhs.URL).Do(ctx, &query.Query{Customer: cust, Metrics: []string{query.Pageviews}, From: from, To: time.Now().Truncate(5 * time.Minute).Add(5 * time.Minute), Interval: query.IntervalTotal})
	if err != nil {
		t.Fatal(err)
	}
	var answered float64
	for _, sr := range ans.Series {
		for _, pt := range sr.Points {
			answered += pt.Values[query.Pageviews]
		}
	}
	if int64(answered) != leg.Count {
		t.Errorf("legacy answers %v page views, its ledger column says %d", answered, leg.Count)
	}

	t.Setenv("BROOKS_KEYSPACE", ks)
	t.Setenv("BROOKS_ARCHIVE_DIR", archiveDir)
	settled := start.Truncate(time.Hour).Add(3 * time.Hour).Format(time.RFC3339)
	code, out, errs := runCapture(t, "ledger", "--customer", cust, "--from", start.Add(-time.Minute).Format(time.RFC3339), "--now", settled, "--format", "json")
	var rep struct {
		Verdict string `json:"verdict"`
		Stages  []string
		Hours   []struct {
			Hour     time.Time
			Status   string
			Findings []ledger.Finding
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("ledger json: %v\n%s\n%s", err, out, errs)
	}
	var twice int64
	for _, h := range rep.Hours {
		for _, f := range h.Findings {
			if f.Stage != ledger.StageLegacy || f.Kind != ledger.KindCountedTwice || f.Reference != ledger.StageTruthLegacy || h.Status != ledger.StatusMismatch {
				t.Errorf("%s: unexpected finding %+v (status %s)", h.Hour.Format("15:04"), f, h.Status)
			}
			twice += f.Diff
		}
	}
	if code != 1 || rep.Verdict != "mismatch" || twice != leg.Count-int64(posts) {
		t.Errorf("ledger: exit %d, verdict %s, legacy counted %d twice (want %d), stages %v\n%s", code, rep.Verdict, twice, leg.Count-int64(posts), rep.Stages, out)
	}
	code, text, _ := runCapture(t, "ledger", "--customer", cust, "--from", start.Add(-time.Minute).Format(time.RFC3339), "--now", settled)
	t.Logf("bin/brooks ledger (exit %d):\n%s", code, text)
}
