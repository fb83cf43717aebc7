package rebuild_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/rebuild"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
)

func replayOne(t *testing.T, s *audittest.Stack, c string, from, to, now time.Time) *replay.Report {
	t.Helper()
	o := replay.DefaultOptions()
	o.Sink, o.Customers, o.Legacy, o.Nextgen, o.Raw, o.Now = s.Sink, s.Customers, s.Legacy, s.Nextgen, s.Raw, now
	rep, err := replay.Run(testenv.Context(t, 2*time.Minute), o, c, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// cancelAfterSave is a checkpoint store that ends the rebuild's context
// after its first save: a kill mid-run.
type cancelAfterSave struct {
	*rebuild.CheckpointStore
	cancel context.CancelFunc
}

func (c cancelAfterSave) Save(ctx context.Context, id rebuild.ScopeID, cp rebuild.Checkpoint) error {
	err := c.CheckpointStore.Save(ctx, id, cp)
	c.cancel()
	return err
}

// TestRebuildRepairsPlantedNextgenFaults plants nextgen faults after the
// engine rolled loadgen traffic up (deleted rollup documents, altered
// ones, a customer's raw rows of an hour dropped); the replay names them
// "nextgen wrong"; a rebuild, killed after its first checkpoint and run
// again, repairs them while the engine keeps running; the replay is then
// clean, and a second rebuild writes nothing.
func TestRebuildRepairsPlantedNextgenFaults(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	start := time.Now().UTC()
	_, n := s.Send(t, loadgen.Options{Seed: 9, Events: 3000})
	s.WaitArchived(t, int64(n), start.Add(-time.Hour))
	from, to := start.Truncate(24*time.Hour), time.Now().UTC().Truncate(24*time.Hour).Add(24*time.Hour)
	now := to.Add(time.Hour)
	c := "globex.example"
	audittest.Eventually(t, 2*time.Minute, func() string {
		if r := replayOne(t, s, c, from, to, now); !r.OK() {
			return fmt.Sprintf("not clean yet: %v %v", r.Counts, r.Reasons)
		}
		return ""
	})

	// Plant the faults.
	ctx := testenv.Context(t, 5*time.Minute)
	reg := rollup.DefaultRegistry
	var docs []*rollup.Cell
	for _, g := range rollup.Granularities {
		if err := s.ES.Scan(ctx, reg, g, esindex.Filter{Customer: c}, func(cell *rollup.Cell) error {
			docs = append(docs, cell)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(docs) < 20 {
		t.Fatalf("%d tuple documents of %s: too few to plant faults", len(docs), c)
	}
	deleted, altered := 0, 0
	var writes []esindex.Write
	for i, cell := range docs {
		ref := esindex.DocRef{Index: s.ES.Names.KeyIndex(cell.Key), ID: esindex.DocID(reg, cell.Key, cell.Dims())}
		switch i % 10 {
		case 0:
			res, err := esapi.DeleteRequest{Index: ref.Index, DocumentID: ref.ID}.Do(ctx, s.ES.ES)
			if err != nil || res.IsError() {
				t.Fatalf("delete %s: %v %v", ref.ID, err, res)
			}
			res.Body.Close()
			deleted++
		case 1:
			_ = cell.SetSum("pageviews", cell.Sum("pageviews")+7)
			writes = append(writes, esindex.Write{Index: ref.Index, ID: ref.ID, Doc: esindex.AppendDoc(nil, cell)})
			altered++
		}
	}
	if res, err := s.ES.Bulk(ctx, writes); err != nil {
		t.Fatal(err)
	} else {
		for _, w := range res {
			if !w.OK() {
				t.Fatalf("alter: %+v", w)
			}
		}
	}
	if err := s.ES.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hour := start.Truncate(time.Hour)
	cs, err := cass.Connect(s.Cfg.CassandraHosts, s.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.Query(`DELETE FROM raw_events WHERE customer = ? AND hour = ?`, c, hour).WithContext(ctx).Exec(); err != nil {
		t.Fatal(err)
	}

	rep := replayOne(t, s, c, from, to, now)
	rawWrong := 0
	for _, h := range rep.RawStore {
		if h.Status == replay.RawMismatch && h.Missing > 0 {
			rawWrong++
		}
	}
	if rep.Counts[replay.NextgenWrong] == 0 || rep.Counts[replay.LegacyWrong]+rep.Counts[replay.BothWrong] != 0 || rawWrong == 0 || rep.ExitCode != replay.ExitFault {
		t.Fatalf("after planting faults: counts %v, %d raw-store hours wrong, exit %d", rep.Counts, rawWrong, rep.ExitCode)
	}
	t.Logf("planted: %d documents deleted, %d altered, raw rows of %s dropped; replay: %d cells nextgen wrong, %d raw-store hours wrong",
		deleted, altered, hour.Format("15:04"), rep.Counts[replay.NextgenWrong], rawWrong)

	ks, err := cass.Connect(s.Cfg.CassandraHosts, s.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if err := rebuild.MigrateCheckpoints(ctx, ks, s.Keyspace); err != nil {
		t.Fatal(err)
	}
	cps := rebuild.NewCheckpointStore(ks, s.Keyspace)
	o := rebuild.DefaultOptions()
	o.Sink, o.Customers, o.ES, o.Raw, o.Now, o.Rate = s.Sink, s.Customers, s.ES, s.Raw, now, 100000
	o.Committed = rebuild.KafkaCommitted(s.Cfg.KafkaBrokers, s.EngineGroup, s.Cfg.Topic)

	// Killed after its first checkpoint (the day's daily documents)...
	kctx, kill := context.WithCancel(ctx)
	ko := o
	ko.Checkpoints = cancelAfterSave{cps, kill}
	if _, err := rebuild.Run(kctx, ko, c, from, to); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed rebuild returned %v, want context.Canceled", err)
	}
	// ...and run again, it resumes from the checkpoint.
	o.Checkpoints = cps
	res, err := rebuild.Run(ctx, o, c, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed == 0 || res.Written == 0 || res.RawRestored == 0 || res.Behind != 0 {
		t.Fatalf("resumed rebuild: %+v", res)
	}
	t.Logf("rebuild: %+v (%.0f events/s)", *res, float64(res.Events)/res.Seconds)
	if err := s.ES.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	audittest.Eventually(t, time.Minute, func() string {
		if r := replayOne(t, s, c, from, to, now); !r.OK() {
			return fmt.Sprintf("after rebuild: %v %v", r.Counts, r.Reasons)
		}
		return ""
	})

	// While the engine writes new traffic into the same documents, a
	// rebuild runs: it leaves alone what the engine has not committed past,
	// and neither side double-counts or overwrites the other.
	sent := make(chan error, 1)
	go func() {
		rep, err := loadgen.Run(context.Background(), loadgen.Options{Seed: 10, Events: 2000, Batch: 20, Concurrency: 4, Target: s.Pipeline.URL})
		if err == nil && rep.Failed > 0 {
			err = fmt.Errorf("%d events not acknowledged", rep.Failed)
		}
		sent <- err
	}()
	during, err := rebuild.Run(ctx, o, c, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild during traffic: %+v", *during)
	s.WaitArchived(t, int64(n+2000), start.Add(-time.Hour))
	audittest.Eventually(t, 2*time.Minute, func() string {
		if r := replayOne(t, s, c, from, to, now); !r.OK() {
			return fmt.Sprintf("after traffic during a rebuild: %v %v", r.Counts, r.Reasons)
		}
		return ""
	})

	// Idempotent: a second full rebuild finds every document right.
	again, err := rebuild.Run(ctx, o, c, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if again.Written != 0 || again.RawRestored != 0 || again.Unchanged == 0 || again.Resumed != 0 || again.Behind != 0 {
		t.Fatalf("second rebuild: %+v, want nothing written", again)
	}
}
