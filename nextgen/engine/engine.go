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
// shutdown.
func (e *Engine) Run(ctx context.Context) error {
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                e.o.Group,
		Brokers:           e.o.Brokers,
		Topics:            []string{e.o.Topic},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: e.o.SessionTimeout / 5,
		SessionTimeout:    e.o.SessionTimeout,
		RebalanceTimeout:  e.o.SessionTimeout,
		JoinGroupBackoff:  time.Second,
		Timeout:           10 * time.Second,
		ErrorLogger:       kafka.LoggerFunc(func(msg string, args ...any) { e.log.Debug("kafka group", "msg", fmt.Sprintf(msg, args...)) }),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", e.o.Group, err)
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
	var runErr error
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if errors.Is(err, kafka.ErrGroupClosed) {
				runErr = err
				break
			}
			e.log.Warn("consumer group generation failed; rejoining", "err", err)
			continue
		}
		assigned := gen.Assignments[e.o.Topic]
		ids := make([]int, len(assigned))
		for i, pa := range assigned {
			ids[i] = pa.ID
		}
		e.log.Info("partitions assigned", "generation", gen.ID, "partitions", ids)
		for _, pa := range assigned {
			gen.Start(func(gctx context.Context) {
				e.runPartition(ctx, gctx, gen, pa)
			})
		}
	}
	// Close waits for every partition's final flush and commit, then
	// leaves the group so the partitions move at once.
	closeErr := group.Close()
	wg.Wait()
	e.log.Info("engine stopped")
	return errors.Join(runErr, closeErr)
}

// runPartition owns one partition for one generation.
func (e *Engine) runPartition(ctx, gctx context.Context, gen *kafka.Generation, pa kafka.PartitionAssignment) {
	p := newPartition(e, gen, pa)
	e.mu.Lock()
	e.parts[pa.ID] = p
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.parts, pa.ID)
		e.mu.Unlock()
	}()
	e.m.assignments.Inc()
	if err := p.run(ctx, gctx); err != nil {
		e.log.Error("partition stopped", "partition", pa.ID, "err", err)
	}
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
