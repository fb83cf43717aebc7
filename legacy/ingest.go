package legacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
)

// IngestOptions configure the ingester.
type IngestOptions struct {
	Brokers []string
	Topic   string
	// GroupID is the Kafka consumer group ("brooks-legacy"); a new group
	// starts at the beginning of the topic.
	GroupID   string
	Customers *pixel.Customers
	// FlushInterval is how often the in-memory counters go to the stores.
	FlushInterval time.Duration
	// MaxBatch flushes early once this many page views are in memory.
	MaxBatch int
	// ShutdownTimeout bounds the last flush and commit after ctx ends.
	ShutdownTimeout time.Duration
	// Ledger, when set, gets a tally (customer, hour, eid) of every page
	// view legacy counted (post page views it did not drop as duplicates)
	// once its flush reached both stores: the legacy stage of the audit
	// ledger, compared with the archive's distinct post page views. A
	// retry of an old event id, or a record read again after a crash, is
	// tallied again, which is how the ledger shows legacy's double counts.
	Ledger *ledger.Accumulator
	// Registry, when set, gets the ingester's metrics.
	Registry prometheus.Registerer
	Log      *slog.Logger
}

// DefaultIngestOptions returns System One's settings; Brokers, Topic and
// Customers must be filled in.
func DefaultIngestOptions() IngestOptions {
	return IngestOptions{
		GroupID:         "brooks-legacy",
		FlushInterval:   5 * time.Second,
		MaxBatch:        200_000,
		ShutdownTimeout: 30 * time.Second,
	}
}

// IngestStats are the ingester's running totals, for tests and logs.
type IngestStats struct {
	Records   int64 // read from Kafka
	Realtime  int64 // records whose counters are in Redis
	Flushed   int64 // records whose counters are in Redis and MongoDB
	Committed int64 // records whose offsets were committed
	// RealtimePageviews and Pageviews are the page views written to Redis,
	// and to both stores.
	RealtimePageviews int64
	Pageviews         int64
	Flushes           int64
}

// Ingester consumes the raw-pixel topic and keeps System One's counters.
type Ingester struct {
	store *Store
	opts  IngestOptions
	log   *slog.Logger
	m     *ingestMetrics
	dedup *dedupe

	records, realtime, flushed, committed, rtPageviews, pageviews, flushes atomic.Int64

	// crashBeforeCommit, in tests, simulates a crash between a flush and
	// its commit: Run returns at once with this error, committing nothing.
	crashBeforeCommit error
}

// NewIngester checks opts and returns an ingester writing to store.
func NewIngester(store *Store, opts IngestOptions) (*Ingester, error) {
	d := DefaultIngestOptions()
	switch {
	case len(opts.Brokers) == 0:
		return nil, errors.New("legacy ingest: no Kafka brokers")
	case opts.Topic == "":
		return nil, errors.New("legacy ingest: no topic")
	case opts.Customers == nil:
		return nil, errors.New("legacy ingest: no customer registry")
	}
	if opts.GroupID == "" {
		opts.GroupID = d.GroupID
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = d.FlushInterval
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = d.MaxBatch
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = d.ShutdownTimeout
	}
	return &Ingester{
		store: store, opts: opts, log: obs.OrDiscard(opts.Log),
		m: newIngestMetrics(opts.Registry), dedup: newDedupe(),
	}, nil
}

// Stats returns the running totals.
func (in *Ingester) Stats() IngestStats {
	return IngestStats{
		Records: in.records.Load(), Realtime: in.realtime.Load(), Flushed: in.flushed.Load(), Committed: in.committed.Load(),
		RealtimePageviews: in.rtPageviews.Load(), Pageviews: in.pageviews.Load(), Flushes: in.flushes.Load(),
	}
}

// window is what has been read since the last flush.
type window struct {
	batch   *Batch
	records int64
	last    map[int]kafka.Message // highest message per partition
	ledger  *ledger.Accumulator   // tallies of the window's records
}

func newWindow() *window {
	return &window{batch: NewBatch(), last: map[int]kafka.Message{}, ledger: ledger.NewAccumulator()}
}

// Run consumes until ctx ends. It counts post page views in memory and,
// every FlushInterval (or at MaxBatch page views), hands the window to a
// pipeline of two stages running beside the consumption:
//
//  1. realtime: the window's 5-minute counters and visitor HyperLogLogs go
//     to Redis (one window at a time; the next keeps growing meanwhile);
//  2. daily: the window's daily totals are merged into the pending MongoDB
//     upserts; one bulk upsert runs at a time and, once MongoDB has it, the
//     offsets of every window it covers are committed.
//
// So Redis stays a few seconds behind Kafka even when MongoDB is slow, and
// a slow MongoDB makes its bulk upserts cover more windows, not the
// consumption slower. When ctx ends Run stops reading, writes what it read
// to both stores and commits it, within ShutdownTimeout.
func (in *Ingester) Run(ctx context.Context) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        in.opts.Brokers,
		Topic:          in.opts.Topic,
		GroupID:        in.opts.GroupID,
		StartOffset:    kafka.FirstOffset,
		MinBytes:       1,
		MaxBytes:       16 << 20,
		MaxWait:        250 * time.Millisecond,
		QueueCapacity:  8192,
		CommitInterval: 0, // synchronous commits, after each daily flush
		ErrorLogger:    kafka.LoggerFunc(func(msg string, args ...any) { in.log.Warn("kafka reader: " + fmt.Sprintf(msg, args...)) }),
	})
	defer r.Close()
	in.log.Info("legacy ingest starting", "topic", in.opts.Topic, "group", in.opts.GroupID, "flush_interval", in.opts.FlushInterval)

	// The stages keep retrying until ShutdownTimeout after ctx ends.
	stages, stopStages := afterGrace(ctx, in.opts.ShutdownTimeout)
	defer stopStages()
	daily := newDailyQueue()
	dailyDone := make(chan error, 1)
	go func() { dailyDone <- in.runDaily(stages, r, daily) }()

	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	msgs := make(chan kafka.Message, 4096)
	fetchErr := make(chan error, 1)
	go func() {
		for {
			m, err := r.FetchMessage(fetchCtx)
			if err != nil {
				fetchErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-fetchCtx.Done():
				fetchErr <- fetchCtx.Err()
				return
			}
		}
	}()

	tick := time.NewTicker(in.opts.FlushInterval)
	defer tick.Stop()
	w := newWindow()
	var inflight *flight // the realtime write running, or nil
	due := ""            // the trigger of a flush waiting for the one in flight
	start := func(trigger string) {
		inflight = in.startRealtime(stages, w, daily, trigger)
		w, due = newWindow(), ""
		in.dedup.rotate()
	}
	// finish ends Run: it writes the last window, lets the daily stage
	// drain, and returns the first error.
	finish := func(cause error) error {
		stopFetch()
		if inflight != nil {
			<-inflight.done
			if inflight.err != nil {
				cause = errors.Join(cause, inflight.err)
			}
		}
		if cause == nil && w.records > 0 {
			if err := in.writeRealtime(stages, w, "shutdown"); err != nil {
				cause = err
			} else {
				daily.add(w)
			}
		}
		daily.close()
		if err := <-dailyDone; err != nil {
			cause = errors.Join(cause, err)
		}
		st := in.Stats()
		in.log.Info("legacy ingest stopped", "records", st.Records, "pageviews", st.Pageviews, "committed", st.Committed)
		if ctx.Err() != nil && errors.Is(cause, ctx.Err()) {
			return nil
		}
		return cause
	}
	for {
		var written <-chan struct{}
		if inflight != nil {
			written = inflight.done
		}
		select {
		case m := <-msgs:
			in.add(w, m)
			if w.batch.Len() < in.opts.MaxBatch {
				continue
			}
			if inflight != nil { // backpressure: Redis is behind
				<-inflight.done
				if inflight.err != nil {
					return finish(nil)
				}
				inflight = nil
			}
			start("size")
		case <-tick.C:
			in.m.lag.Set(float64(r.Stats().Lag))
			if w.records == 0 {
				continue
			}
			if inflight != nil {
				due = "interval"
				continue
			}
			start("interval")
		case <-written:
			if inflight.err != nil {
				return finish(nil)
			}
			inflight = nil
			if due != "" {
				start(due)
			}
		case err := <-dailyDone:
			dailyDone <- err // for finish
			if err == nil {
				err = errors.New("daily stage ended early")
			}
			if in.crashBeforeCommit != nil && errors.Is(err, in.crashBeforeCommit) {
				if inflight != nil {
					<-inflight.done // so that Stats are final
				}
				return err
			}
			return finish(nil)
		case err := <-fetchErr:
			if ctx.Err() == nil {
				return finish(fmt.Errorf("fetch from kafka: %w", err))
			}
			return finish(nil)
		case <-ctx.Done():
			return finish(nil)
		}
	}
}

// afterGrace returns a context that ends grace after ctx ends.
func afterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return g, func() { stop(); cancel() }
}
