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
	Log             *slog.Logger
	Registry        prometheus.Registerer
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
	ready    atomic.Bool
	commitMu sync.Mutex
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
	a := &Archiver{opts: o, log: obs.OrDiscard(o.Log), m: newMetrics(o.Registry), writer: ledger.WriterID("archiver")}
	if o.Ledger != nil {
		a.ledger = newLedgerQueue(o.Ledger, a.log, a.m)
	}
	return a, nil
}

// Ready reports whether the archiver has joined its consumer group (for
// /readyz).
func (a *Archiver) Ready(context.Context) error {
	if !a.ready.Load() {
		return errors.New("not a member of the consumer group yet")
	}
	return nil
}

// Run archives until ctx ends, then closes every open part, commits and
// leaves the group. It returns an error if a part could not be written.
func (a *Archiver) Run(ctx context.Context) error {
	o := &a.opts
	kl := kafka.LoggerFunc(func(msg string, args ...any) { a.log.Warn("kafka: " + fmt.Sprintf(msg, args...)) })
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                o.Group,
		Brokers:           o.Brokers,
		Topics:            []string{o.Topic},
		StartOffset:       kafka.FirstOffset,
		SessionTimeout:    o.SessionTimeout,
		HeartbeatInterval: max(o.SessionTimeout/5, 200*time.Millisecond),
		RebalanceTimeout:  o.ShutdownTimeout,
		JoinGroupBackoff:  time.Second,
		ErrorLogger:       kl,
	})
	if err != nil {
		return fmt.Errorf("archive: consumer group: %w", err)
	}
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
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
	for {
		gen, err := group.Next(runCtx)
		if err != nil {
			if runCtx.Err() != nil {
				break
			}
			a.log.Warn("consumer group; rejoining", "err", err)
			continue
		}
		a.m.generations.Inc()
		parts := gen.Assignments[o.Topic]
		a.log.Info("joined consumer group", "generation", gen.ID, "partitions", len(parts))
		a.ready.Store(true)
		for _, pa := range parts {
			gen.Start(func(gctx context.Context) {
				if err := a.consume(gctx, gen, pa); err != nil {
					a.log.Error("partition failed; stopping", "partition", pa.ID, "err", err)
					fail(err)
				}
			})
		}
	}
	a.stopping.Store(true)
	a.ready.Store(false)
	group.Close() // ends the generation: workers close their parts and commit
	bg.Wait()
	if a.ledger != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if left := a.ledger.retry(fctx); left > 0 {
			a.log.Warn("ledger tallies not recorded at exit; they are replayed from manifests at the next start", "parts", left)
		}
		cancel()
	}
	if cause := context.Cause(runCtx); ctx.Err() == nil && cause != nil {
		return fmt.Errorf("archive: %w", cause)
	}
	a.log.Info("archiver stopped")
	return nil
}

// consume archives one assigned partition for the generation's lifetime.
func (a *Archiver) consume(ctx context.Context, gen *kafka.Generation, pa kafka.PartitionAssignment) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   a.opts.Brokers,
		Topic:     a.opts.Topic,
		Partition: pa.ID,
		MinBytes:  1,
		MaxBytes:  16 << 20,
		// kafka-go keeps 1s of a fetch's wait for the round trip; a
		// shorter MaxWait leaves too little and idle fetches time out. The
		// broker holds an idle fetch 0.5s: shutdown waits at most that.
		MaxWait:     1500 * time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) { a.log.Warn("kafka reader: " + fmt.Sprintf(msg, args...)) }),
	})
	defer r.Close()
	if err := r.SetOffset(pa.Offset); err != nil {
		return fmt.Errorf("partition %d: seek %d: %w", pa.ID, pa.Offset, err)
	}
	a.log.Debug("consuming partition", "partition", pa.ID, "from", pa.Offset)
	return newPartitionWorker(a, gen, pa.ID, pa.Offset).run(ctx, r)
}

// commit commits offset for partition in generation gen; commits are
// serialised, as they share the generation's coordinator connection.
func (a *Archiver) commit(gen *kafka.Generation, partition int, offset int64) error {
	a.commitMu.Lock()
	defer a.commitMu.Unlock()
	return gen.CommitOffsets(map[string]map[int]int64{a.opts.Topic: {partition: offset}})
}
