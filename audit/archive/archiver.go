// Package archive is Brooks' raw-log archiver: its own Kafka consumer group
// copies every record of the raw-pixel topic into hourly, gzip-compressed,
// newline-delimited parts with a JSON manifest each (event count, byte
// sizes, sha256, the ledger's order-free hash of event ids, first and last
// Kafka offsets), and commits offsets only after the parts holding the
// records are durable. A crash never loses a record and never puts one in
// two closed parts.
//
// Layout (see audit/README.md), through a Sink (Local today):
//
//	{customer}/{YYYY-MM-DD}/{HH}/p{partition}-{firstOffset:020d}.ndjson.gz
//	{customer}/{YYYY-MM-DD}/{HH}/p{partition}-{firstOffset:020d}.manifest.json
//
// Usage:
//
//	sink, _ := archive.NewLocal(cfg.Archive())
//	o := archive.DefaultOptions()
//	o.Brokers, o.Topic, o.Sink, o.Ledger = cfg.KafkaBrokers, cfg.Topic, sink, store
//	a, _ := archive.New(o)
//	err := a.Run(ctx) // until ctx ends: closes every part, commits, leaves the group
package archive

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/shadow/tee"
)

// DefaultGroup is the archiver's Kafka consumer group.
const DefaultGroup = "brooks-archive"

// Options configure an Archiver.
type Options struct {
	Brokers []string
	Topic   string
	// Group is the consumer group (default DefaultGroup).
	Group string
	Sink  Sink
	// RollInterval closes a part this long after it opened (default 1m):
	// it bounds how far offsets lag behind consumption.
	RollInterval time.Duration
	// HourGrace keeps an hour's part open this long after the hour ended,
	// for records stamped just before the hour turned (default 1m).
	HourGrace time.Duration
	// MaxPartBytes closes a part once its uncompressed content reaches this
	// size (default 256 MiB).
	MaxPartBytes int64
	// Compression is the gzip level (default gzip.DefaultCompression).
	Compression int
	// SessionTimeout of the consumer-group membership (default 10s): how
	// soon a crashed archiver's partitions move to another member.
	SessionTimeout time.Duration
	// Ledger, when set, receives each closed part's tally (stage archive).
	Ledger LedgerWriter
	// LedgerRetry is how often failed ledger writes are retried (default 5s).
	LedgerRetry time.Duration
	// LedgerReplay: at start, parts whose manifest is younger than this are
	// recorded in the ledger again (idempotent), in case an earlier process
	// died with tallies still queued (default 6h; negative disables).
	LedgerReplay time.Duration
	// ShutdownTimeout bounds closing the open parts when a generation ends.
	ShutdownTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
	Registerer      prometheus.Registerer
}

// DefaultOptions returns the defaults; Brokers, Topic and Sink must be set.
func DefaultOptions() Options {
	return Options{
		Group:           DefaultGroup,
		RollInterval:    time.Minute,
		HourGrace:       time.Minute,
		MaxPartBytes:    256 << 20,
		Compression:     gzip.DefaultCompression,
		SessionTimeout:  10 * time.Second,
		LedgerRetry:     5 * time.Second,
		LedgerReplay:    6 * time.Hour,
		ShutdownTimeout: 30 * time.Second,
		Now:             time.Now,
	}
}

// tick is how often open parts are checked for closing.
func (o *Options) tick() time.Duration {
	t := o.RollInterval / 4
	if o.RollInterval <= 0 || t > time.Second {
		t = time.Second
	}
	return max(t, 20*time.Millisecond)
}

// Archiver copies the raw-pixel topic into the archive.
type Archiver struct {
	opts   Options
	log    *slog.Logger
	m      *metrics
	ledger *ledgerQueue
	writer string

	stopping atomic.Bool
	consumer atomic.Pointer[tee.Consumer]

	mu      sync.Mutex
	workers map[int]*partitionWorker
}

// New checks o and returns an archiver.
func New(o Options) (*Archiver, error) {
	switch {
	case len(o.Brokers) == 0:
		return nil, errors.New("archive: no Kafka brokers")
	case o.Topic == "":
		return nil, errors.New("archive: no topic")
	case o.Sink == nil:
		return nil, errors.New("archive: no sink")
	case o.RollInterval < 0 || o.HourGrace < 0 || o.MaxPartBytes < 0:
		return nil, errors.New("archive: roll interval, hour grace and max part bytes must not be negative")
	case o.Compression < gzip.HuffmanOnly || o.Compression > gzip.BestCompression:
		return nil, fmt.Errorf("archive: gzip level %d: want -2..9", o.Compression)
	}
	d := DefaultOptions()
	if o.Group == "" {
		o.Group = d.Group
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = d.SessionTimeout
	}
	if o.LedgerRetry <= 0 {
		o.LedgerRetry = d.LedgerRetry
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = d.ShutdownTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Archiver{opts: o, log: obs.OrDiscard(o.Logger), m: newMetrics(o.Registerer), writer: ledger.WriterID("archiver"),
		workers: map[int]*partitionWorker{}}
	if o.Ledger != nil {
		a.ledger = newLedgerQueue(o.Ledger, a.log, a.m)
	}
	return a, nil
}

// Ready reports whether the archiver has joined its consumer group (for
// /readyz).
func (a *Archiver) Ready(ctx context.Context) error {
	c := a.consumer.Load()
	if c == nil {
		return errors.New("not a member of the consumer group yet")
	}
	return c.Ready(ctx)
}

// Run archives until ctx ends, then closes every open part, commits and
// leaves the group. Broker outages and rebalances are ridden out
// (tee.Consumer); it returns an error if a part could not be written.
func (a *Archiver) Run(ctx context.Context) error {
	o := &a.opts
	co := tee.DefaultOptions()
	co.Brokers, co.Topic, co.Group, co.Handler = o.Brokers, o.Topic, o.Group, a
	co.MaxBatch, co.QueueSize, co.TickInterval = 512, 512, o.tick()
	co.SessionTimeout, co.ShutdownTimeout = o.SessionTimeout, o.ShutdownTimeout
	co.Logger, co.Registerer = a.log, o.Registerer
	consumer, err := tee.NewConsumer(co)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	a.consumer.Store(consumer)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg sync.WaitGroup
	if a.ledger != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			if o.LedgerReplay > 0 {
				now := o.Now()
				n, err := a.ledger.replay(runCtx, o.Sink, o.Topic, now.Add(-o.LedgerReplay), now)
				if err != nil {
					a.log.Warn("ledger replay of recent manifests failed", "err", err)
				}
				a.log.Info("ledger replay queued recent parts", "parts", n)
			}
			a.ledger.run(runCtx, o.LedgerRetry)
		}()
	}
	a.log.Info("archiver starting", "topic", o.Topic, "group", o.Group, "roll", o.RollInterval, "writer", a.writer)
	go func() {
		<-ctx.Done()
		a.stopping.Store(true)
	}()
	runErr := consumer.Run(ctx)
	a.stopping.Store(true)
	cancel()
	bg.Wait()
	if a.ledger != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if left := a.ledger.retry(fctx); left > 0 {
			a.log.Warn("ledger tallies not recorded at exit; they are replayed from manifests at the next start", "parts", left)
		}
		cancel()
	}
	if runErr != nil {
		return fmt.Errorf("archive: %w", runErr)
	}
	a.log.Info("archiver stopped")
	return nil
}

// generations is how many consumer-group generations the archiver joined.
func (a *Archiver) generations() int64 {
	if c := a.consumer.Load(); c != nil {
		return c.Generations()
	}
	return 0
}

// Assigned starts archiving a partition for the claim's generation.
func (a *Archiver) Assigned(_ context.Context, c *tee.Claim) error {
	w := newPartitionWorker(a, c)
	a.mu.Lock()
	a.workers[c.Partition] = w
	a.mu.Unlock()
	a.log.Debug("consuming partition", "partition", c.Partition, "from", c.Start)
	return nil
}

func (a *Archiver) worker(c *tee.Claim) *partitionWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.workers[c.Partition]
}

// Handle archives a batch of records. A part that cannot be written stops
// the archiver (tee.Fatal): nothing is committed past it.
func (a *Archiver) Handle(ctx context.Context, c *tee.Claim, batch []kafka.Message) error {
	w := a.worker(c)
	for _, m := range batch {
		if err := w.handle(ctx, m); err != nil {
			w.broken = true
			return &tee.Fatal{Err: err}
		}
	}
	return nil
}

// Tick closes the parts that are due and marks the safe offset durable.
func (a *Archiver) Tick(ctx context.Context, c *tee.Claim) error {
	w := a.worker(c)
	if err := w.closeDue(ctx); err != nil {
		w.broken = true
		return &tee.Fatal{Err: err}
	}
	w.commit()
	return nil
}

// Revoked closes every open part of the partition and marks it durable.
func (a *Archiver) Revoked(_ context.Context, c *tee.Claim) error {
	w := a.worker(c)
	if w == nil || w.claim != c {
		return nil // not assigned
	}
	a.mu.Lock()
	delete(a.workers, c.Partition)
	a.mu.Unlock()
	reason := ReasonRebalance
	if a.stopping.Load() {
		reason = ReasonShutdown
	}
	if err := w.stop(reason); err != nil {
		return &tee.Fatal{Err: err}
	}
	return nil
}
