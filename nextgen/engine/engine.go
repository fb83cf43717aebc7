package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/shadow/tee"
)

// Engine consumes the raw-pixel topic and keeps the raw store and the
// rollup indices up to date, exactly once in effect.
type Engine struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu     sync.Mutex
	parts  map[int]*partition // partitions owned now
	status map[int]Status
}

// Status is a partition's progress, for tests and operators.
type Status struct {
	Partition int
	// Applied is the next offset after the last record taken into memory.
	Applied int64
	// Committed is the last offset committed to the group (next to read).
	Committed int64
}

// New validates o and returns an engine.
func New(o Options) (*Engine, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	return &Engine{o: o, log: obs.OrDiscard(o.Logger).With("component", "nextgen-engine"), m: newMetrics(o.Registerer),
		parts: map[int]*partition{}, status: map[int]Status{}}, nil
}

// Run consumes until ctx ends, then flushes every partition's documents,
// commits the offsets and leaves the group. It returns nil after a clean
// shutdown; broker outages and rebalances are ridden out (tee.Consumer).
func (e *Engine) Run(ctx context.Context) error {
	co := tee.DefaultOptions()
	co.Brokers, co.Topic, co.Group, co.Handler = e.o.Brokers, e.o.Topic, e.o.Group, e
	co.MaxBatch, co.QueueSize = e.o.MaxBatch, e.o.MaxBatch
	co.TickInterval = e.o.FlushInterval
	co.SessionTimeout, co.ShutdownTimeout = e.o.SessionTimeout, e.o.ShutdownTimeout
	co.Logger, co.Registerer = e.log, e.o.Registerer
	consumer, err := tee.NewConsumer(co)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	e.log.Info("engine starting", "topic", e.o.Topic, "group", e.o.Group, "flush_interval", e.o.FlushInterval)
	var wg sync.WaitGroup
	if e.o.RetentionInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.retentionLoop(ctx)
		}()
	}
	err = consumer.Run(ctx)
	wg.Wait()
	e.log.Info("engine stopped")
	return err
}

// Assigned starts the partition's writer for the claim's generation.
func (e *Engine) Assigned(_ context.Context, c *tee.Claim) error {
	p := newPartition(e, c)
	e.mu.Lock()
	e.parts[c.Partition] = p
	e.mu.Unlock()
	e.m.assignments.Inc()
	p.start()
	return nil
}

func (e *Engine) partition(c *tee.Claim) *partition {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.parts[c.Partition]
}

// Handle queues the batch for the partition's writer (decode, raw store,
// rollup); its offsets are marked durable once the documents holding the
// records are written.
func (e *Engine) Handle(ctx context.Context, c *tee.Claim, batch []kafka.Message) error {
	p := e.partition(c)
	for _, m := range batch {
		select {
		case p.msgs <- m:
		case <-p.stopped:
			return p.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Tick reports a writer that stopped on an error, so the partition is
// released and taken again.
func (e *Engine) Tick(_ context.Context, c *tee.Claim) error {
	p := e.partition(c)
	select {
	case <-p.stopped:
		if p.err != nil {
			return p.err
		}
		return errors.New("partition writer stopped")
	default:
		return nil
	}
}

// Revoked stops the partition's writer: the final flush and commit.
func (e *Engine) Revoked(_ context.Context, c *tee.Claim) error {
	p := e.partition(c)
	if p == nil || p.claim != c {
		return nil // not assigned (Assigned failed)
	}
	p.stop()
	<-p.stopped
	e.mu.Lock()
	if e.parts[c.Partition] == p {
		delete(e.parts, c.Partition)
	}
	e.mu.Unlock()
	if p.err != nil {
		e.log.Error("partition stopped", "partition", c.Partition, "err", p.err)
	}
	return p.err
}

func (e *Engine) setStatus(s Status) {
	e.mu.Lock()
	e.status[s.Partition] = s
	e.mu.Unlock()
}

// Status reports the progress of every partition this engine has owned.
func (e *Engine) Status() []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Status, 0, len(e.status))
	for _, s := range e.status {
		out = append(out, s)
	}
	return out
}

// retentionLoop deletes expired rollup indices now and every
// RetentionInterval.
func (e *Engine) retentionLoop(ctx context.Context) {
	t := time.NewTicker(e.o.RetentionInterval)
	defer t.Stop()
	for {
		deleted, err := e.o.ES.DeleteExpired(ctx, e.o.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			e.m.retention.WithLabelValues("error").Inc()
			e.log.Warn("retention", "err", err)
		case err == nil:
			e.m.retention.WithLabelValues("ok").Inc()
			if len(deleted) > 0 {
				e.log.Info("retention deleted expired indices", "indices", deleted)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
