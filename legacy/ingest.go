package legacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/tee"
)

// Ledger takes the tallies of each flush that reached both stores, merged
// into what it holds until its recorder flushes them;
// *ledger.Accumulator satisfies it.
type Ledger interface {
	Restore(tallies map[ledger.Key]ledger.Tally)
}

var _ Ledger = (*ledger.Accumulator)(nil)

// IngestOptions configure the ingester.
type IngestOptions struct {
	Brokers []string
	Topic   string
	// Group is the Kafka consumer group ("brooks-legacy"); a new group
	// starts at the beginning of the topic.
	Group     string
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
	Ledger Ledger
	// Registerer, when set, gets the ingester's metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// DefaultIngestOptions returns System One's settings; Brokers, Topic and
// Customers must be filled in.
func DefaultIngestOptions() IngestOptions {
	return IngestOptions{
		Group:           "brooks-legacy",
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
	Committed int64 // records whose offsets were marked durable (the consumer commits them)
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

	// The window being read into, shared by the partitions' goroutines.
	mu       sync.Mutex
	w        *window
	swapped  chan struct{} // closed when w is replaced
	full     chan struct{} // w reached MaxBatch
	flushReq chan flushRequest
	stopped  chan struct{} // closed when Run's loop ended
	failed   atomic.Pointer[error]
	waiting  map[chan error]bool // Revoked calls waiting (under mu)

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
	if opts.Group == "" {
		opts.Group = d.Group
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
		store: store, opts: opts, log: obs.OrDiscard(opts.Logger),
		m: newIngestMetrics(opts.Registerer), dedup: newDedupe(),
		w: newWindow(), swapped: make(chan struct{}), full: make(chan struct{}, 1),
		flushReq: make(chan flushRequest), stopped: make(chan struct{}), waiting: map[chan error]bool{},
	}, nil
}

// Stats returns the running totals.
func (in *Ingester) Stats() IngestStats {
	return IngestStats{
		Records: in.records.Load(), Realtime: in.realtime.Load(), Flushed: in.flushed.Load(), Committed: in.committed.Load(),
		RealtimePageviews: in.rtPageviews.Load(), Pageviews: in.pageviews.Load(), Flushes: in.flushes.Load(),
	}
}

// mark is a partition's position in a window: the claim it was read
// under and the offset after its last record.
type mark struct {
	claim *tee.Claim
	next  int64
}

// window is what has been read since the last flush.
type window struct {
	batch   *Batch
	records int64
	last    map[int]mark        // per partition
	ledger  *ledger.Accumulator // tallies of the window's records
	waiters []chan error        // Revoked calls waiting for the window to be durable
}

func newWindow() *window {
	return &window{batch: NewBatch(), last: map[int]mark{}, ledger: ledger.NewAccumulator()}
}

// flushRequest asks the loop to flush what was read so far and to report
// when it is durable (a partition being revoked).
type flushRequest struct{ done chan error }

// Run consumes until ctx ends. It counts post page views in memory and,
// every FlushInterval (or at MaxBatch page views), hands the window to a
// pipeline of two stages running beside the consumption:
//
//  1. realtime: the window's 5-minute counters and visitor HyperLogLogs go
//     to Redis (one window at a time; the next keeps growing meanwhile);
//  2. daily: the window's daily totals are merged into the pending MongoDB
//     upserts; one bulk upsert runs at a time and, once MongoDB has it, the
//     offsets of every window it covers are marked durable, and the
//     consumer (tee.Consumer) commits them.
//
// So Redis stays a few seconds behind Kafka even when MongoDB is slow, and
// a slow MongoDB makes its bulk upserts cover more windows, not the
// consumption slower. A partition revoked (rebalance, broker lost,
// shutdown) waits until what was read from it is in both stores and
// marked durable. Kafka outages are ridden out by the consumer; Run
// returns when ctx ends, after the last flush, within ShutdownTimeout.
func (in *Ingester) Run(ctx context.Context) error {
	co := tee.DefaultOptions()
	co.Brokers, co.Topic, co.Group, co.Handler = in.opts.Brokers, in.opts.Topic, in.opts.Group, in
	co.MaxBatch, co.QueueSize = 2048, 8192
	co.ShutdownTimeout = in.opts.ShutdownTimeout
	// Counting is not idempotent: after a broker outage, start after what
	// was flushed even if its commit could not reach the broker.
	co.ResumeFromDurable = true
	co.Logger, co.Registerer = in.log, in.opts.Registerer
	consumer, err := tee.NewConsumer(co)
	if err != nil {
		return fmt.Errorf("legacy ingest: %w", err)
	}
	in.log.Info("legacy ingest starting", "topic", in.opts.Topic, "group", in.opts.Group, "flush_interval", in.opts.FlushInterval)

	// The stages keep retrying until ShutdownTimeout after ctx ends.
	stages, stopStages := afterGrace(ctx, in.opts.ShutdownTimeout)
	defer stopStages()
	daily := newDailyQueue()
	dailyDone := make(chan error, 1)
	go func() { dailyDone <- in.runDaily(stages, daily) }()

	consumeCtx, stopConsume := context.WithCancel(ctx)
	defer stopConsume()
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(consumeCtx) }()

	tick := time.NewTicker(in.opts.FlushInterval)
	defer tick.Stop()
	var inflight *flight // the realtime write running, or nil
	due := ""            // the trigger of a flush waiting for the one in flight
	start := func(trigger string) {
		in.mu.Lock()
		w := in.w
		in.w = newWindow()
		close(in.swapped)
		in.swapped = make(chan struct{})
		in.mu.Unlock()
		inflight, due = in.startRealtime(stages, w, daily, trigger), ""
		in.dedup.rotate()
	}
	var failure error
	// fail stops consuming: Revoked calls get the error, nothing more is
	// marked durable.
	fail := func(err error) {
		if failure == nil {
			failure = err
			in.failed.Store(&failure)
			stopConsume()
			in.releaseWaiters(err)
		}
	}
	for {
		var written <-chan struct{}
		if inflight != nil {
			written = inflight.done
		}
		select {
		case <-in.full:
			if inflight == nil && failure == nil {
				start("size")
			} else if due == "" {
				due = "size"
			}
		case req := <-in.flushReq:
			in.mu.Lock()
			in.w.waiters = append(in.w.waiters, req.done)
			in.waiting[req.done] = true
			in.mu.Unlock()
			if failure != nil {
				in.releaseWaiters(failure)
			} else if inflight == nil {
				start("revoke")
			} else if due == "" {
				due = "revoke"
			}
		case <-tick.C:
			in.mu.Lock()
			empty := in.w.records == 0 && len(in.w.waiters) == 0
			in.mu.Unlock()
			if empty || failure != nil {
				continue
			}
			if inflight != nil {
				due = "interval"
				continue
			}
			start("interval")
		case <-written:
			if inflight.err != nil {
				fail(inflight.err)
			}
			inflight = nil
			if due != "" && failure == nil {
				start(due)
			}
		case err := <-dailyDone:
			if err == nil {
				err = errors.New("daily stage ended early")
			}
			dailyDone <- err // for the end
			fail(err)
		case err := <-consumed:
			close(in.stopped)
			return in.finish(err, failure, inflight, daily, dailyDone)
		}
	}
}

// finish ends Run once the consumer returned: every partition was revoked,
// so what was read is flushed (or failed). It lets the daily stage drain
// and returns the first error.
func (in *Ingester) finish(consumeErr, failure error, inflight *flight, daily *dailyQueue, dailyDone chan error) error {
	if inflight != nil {
		<-inflight.done
	}
	if failure != nil && in.crashBeforeCommit != nil && errors.Is(failure, in.crashBeforeCommit) {
		return failure
	}
	daily.close()
	cause := errors.Join(consumeErr, failure)
	if err := <-dailyDone; err != nil && !errors.Is(err, failure) {
		cause = errors.Join(cause, err)
	}
	in.releaseWaiters(errors.New("ingester stopped"))
	st := in.Stats()
	in.log.Info("legacy ingest stopped", "records", st.Records, "pageviews", st.Pageviews, "committed", st.Committed)
	return cause
}

// releaseWaiters answers every Revoked call still waiting with err.
func (in *Ingester) releaseWaiters(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for w := range in.waiting {
		w <- err
		delete(in.waiting, w)
	}
}

// durable answers the Revoked calls waiting for windows now durable.
func (in *Ingester) durable(ws []chan error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, w := range ws {
		if in.waiting[w] {
			w <- nil
			delete(in.waiting, w)
		}
	}
}

// afterGrace returns a context that ends grace after ctx ends.
func afterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return g, func() { stop(); cancel() }
}
