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
	// Ledger, when set, gets a tally (customer, hour, eid) of every record
	// once its flush reached both stores: the legacy stage of the audit
	// ledger. A record read again after a crash is tallied again, which is
	// how the ledger shows legacy's double counts.
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
	Flushed   int64 // records whose flush reached both stores
	Committed int64 // records whose offsets were committed
	Pageviews int64 // page views written to the stores
	Flushes   int64
}

// Ingester consumes the raw-pixel topic and keeps System One's counters.
type Ingester struct {
	store *Store
	opts  IngestOptions
	log   *slog.Logger
	m     *ingestMetrics
	dedup *dedupe

	records, flushed, committed, pageviews, flushes atomic.Int64
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
		Records: in.records.Load(), Flushed: in.flushed.Load(), Committed: in.committed.Load(),
		Pageviews: in.pageviews.Load(), Flushes: in.flushes.Load(),
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

// Run consumes until ctx ends: it counts post page views in memory, flushes
// them to Redis and MongoDB every FlushInterval (or MaxBatch page views),
// and commits the offsets after each flush. When ctx ends it flushes and
// commits what it has, within ShutdownTimeout.
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
		CommitInterval: 0, // synchronous commits, after each flush
		ErrorLogger:    kafka.LoggerFunc(func(msg string, args ...any) { in.log.Warn("kafka reader: " + fmt.Sprintf(msg, args...)) }),
	})
	defer r.Close()
	in.log.Info("legacy ingest starting", "topic", in.opts.Topic, "group", in.opts.GroupID, "flush_interval", in.opts.FlushInterval)

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
	for {
		select {
		case m := <-msgs:
			in.add(w, m)
			if w.batch.Len() >= in.opts.MaxBatch {
				if err := in.flush(ctx, r, w, "size"); err != nil {
					return in.shutdown(ctx, r, w, nil) // only ctx ends a flush
				}
				w = newWindow()
			}
		case <-tick.C:
			if err := in.flush(ctx, r, w, "interval"); err != nil {
				return in.shutdown(ctx, r, w, nil)
			}
			w = newWindow()
			in.m.lag.Set(float64(r.Stats().Lag))
		case err := <-fetchErr:
			if ctx.Err() == nil {
				err = fmt.Errorf("fetch from kafka: %w", err)
			}
			return in.shutdown(ctx, r, w, err)
		case <-ctx.Done():
			return in.shutdown(ctx, r, w, nil)
		}
	}
}

// add counts one record into the window.
func (in *Ingester) add(w *window, m kafka.Message) {
	w.records++
	w.last[m.Partition] = m
	in.records.Add(1)
	in.m.records.Inc()
	e, err := pixel.Unmarshal(m.Value)
	if err != nil {
		in.m.ignored.WithLabelValues(ReasonBadRecord).Inc()
		return
	}
	if in.opts.Ledger != nil {
		w.ledger.Add(e.Customer, e.ReceivedAt, e.EID)
	}
	pv, reason := ClassifyEvent(in.opts.Customers, &e)
	if reason == "" && in.dedup.seen(pv.EID) {
		reason = ReasonDuplicate
	}
	if reason != "" {
		in.m.ignored.WithLabelValues(reason).Inc()
		return
	}
	w.batch.Add(pv)
	in.m.counted.WithLabelValues(pv.Customer).Inc()
}

// shutdown flushes and commits what was read, then returns cause (nil for
// a clean stop) or the flush error.
func (in *Ingester) shutdown(ctx context.Context, r *kafka.Reader, w *window, cause error) error {
	if cause != nil && ctx.Err() == nil {
		in.log.Error("legacy ingest stopping", "err", cause)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.opts.ShutdownTimeout)
	defer cancel()
	if err := in.flush(sctx, r, w, "shutdown"); err != nil {
		return errors.Join(cause, fmt.Errorf("last flush (its records will be read again): %w", err))
	}
	st := in.Stats()
	in.log.Info("legacy ingest stopped", "records", st.Records, "pageviews", st.Pageviews, "committed", st.Committed)
	if ctx.Err() != nil && errors.Is(cause, ctx.Err()) {
		return nil
	}
	return cause
}

// flush writes the window's batch to both stores, retrying with backoff
// until it succeeds or stop ends, then commits the window's offsets. A
// commit that fails is logged and counted: those records will be read and
// counted again (at-least-once).
func (in *Ingester) flush(stop context.Context, r *kafka.Reader, w *window, trigger string) error {
	if w.records == 0 {
		return nil
	}
	start := time.Now()
	if !w.batch.Empty() {
		backoff := 100 * time.Millisecond
		for {
			// Attempts are not cut short by stop: an interrupted write would
			// leave its outcome unknown.
			actx, cancel := context.WithTimeout(context.WithoutCancel(stop), time.Minute)
			err := in.store.Write(actx, w.batch)
			cancel()
			if err == nil {
				break
			}
			var we *WriteError
			store := "unknown"
			if errors.As(err, &we) {
				store = we.Store
			}
			in.m.flushErrors.WithLabelValues(store).Inc()
			in.log.Warn("legacy flush failed, retrying", "err", err, "pageviews", w.batch.Len(), "backoff", backoff)
			select {
			case <-stop.Done():
				return fmt.Errorf("flush %s: %w", w.batch, err)
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
	took := time.Since(start)
	in.m.flushTime.Observe(took.Seconds())
	in.m.batchSize.Observe(float64(w.batch.Len()))
	in.m.flushes.WithLabelValues(trigger).Inc()
	in.m.lastFlush.SetToCurrentTime()
	in.flushes.Add(1)
	in.flushed.Add(w.records)
	in.pageviews.Add(int64(w.batch.Len()))
	in.dedup.rotate()
	if in.opts.Ledger != nil {
		in.opts.Ledger.Restore(w.ledger.Drain())
	}

	last := make([]kafka.Message, 0, len(w.last))
	for _, m := range w.last {
		last = append(last, m)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(stop), 30*time.Second)
	defer cancel()
	if err := r.CommitMessages(cctx, last...); err != nil {
		in.m.commitErrs.Inc()
		in.log.Warn("legacy commit failed after flush: these records will be counted again", "err", err, "records", w.records)
		return nil
	}
	in.committed.Add(w.records)
	in.log.Debug("legacy flushed", "trigger", trigger, "records", w.records, "pageviews", w.batch.Len(), "took", took)
	return nil
}
