package tee

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Claim is one partition owned for one generation.
type Claim struct {
	Partition  int
	Generation int32
	// Start is where consumption starts: the group's committed offset, or
	// kafka.FirstOffset (negative) when the group has none.
	Start int64

	gen     *kafka.Generation
	label   string
	log     *slog.Logger
	offsets *offsets
	wake    chan struct{}
	behind  atomic.Int64
	lastLag atomic.Int64 // the lag gauge's value
}

// Durable marks every record before next as durable: the consumer commits
// it soon (at once if the partition is idle, else at the next tick). Safe
// from any goroutine; marks only move forward.
func (c *Claim) Durable(next int64) {
	c.offsets.markDurable(next)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Committed is the last offset committed to the group for this partition
// (next to read), or -1 if none.
func (c *Claim) Committed() int64 { return c.offsets.lastCommitted() }

// Behind is how many records the last batch's end was behind the
// partition's end when fetched (0 before any batch).
func (c *Claim) Behind() int64 { return c.behind.Load() }

// Logger returns a logger naming the partition and generation.
func (c *Claim) Logger() *slog.Logger { return c.log }

// runClaim owns one partition until the generation (gctx) or the consumer
// (ctx) ends: a fetcher fills a bounded channel, this goroutine hands
// batches and ticks to the handler, then revokes and commits. It returns
// an error only for a Fatal handler failure.
func (c *Consumer) runClaim(ctx, gctx context.Context, gen *kafka.Generation, pa kafka.PartitionAssignment) error {
	o := &c.o
	cl := &Claim{
		Partition: pa.ID, Generation: gen.ID, Start: pa.Offset, gen: gen, label: partitionLabel(pa.ID),
		log:     c.log.With("partition", pa.ID, "generation", gen.ID),
		offsets: newOffsets(pa.Offset), wake: make(chan struct{}, 1),
	}
	if at := c.resumeAt(pa.ID, pa.Offset); at != pa.Offset {
		cl.log.Info("resuming after the offset marked durable before the generation ended, not the group's older commit", "committed", pa.Offset, "from", at)
		cl.Start = at
		cl.Durable(at)
	}
	c.own(cl)
	defer c.release(cl)
	cl.log.Debug("partition claimed", "offset", cl.Start)

	done, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-gctx.Done():
			stop()
		case <-done.Done():
		}
	}()
	h := o.Handler
	handleErr := func(what string, err error) error {
		var fatal *Fatal
		if errors.As(err, &fatal) {
			return err
		}
		c.m.retries.WithLabelValues(OpHandle).Inc()
		cl.log.Warn(what+" failed; the partition is released and taken again from its last commit", "err", err)
		return nil
	}
	var failed error
	if err := h.Assigned(done, cl); err != nil {
		failed = fmt.Errorf("assigned: %w", err)
	}

	msgs := make(chan kafka.Message, o.QueueSize)
	fetched := make(chan struct{})
	if failed == nil {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: o.Brokers, Topic: o.Topic, Partition: pa.ID,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: o.MaxWait, QueueCapacity: o.QueueSize,
			ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) { cl.log.Debug("kafka reader: " + fmt.Sprintf(msg, args...)) }),
		})
		if err := r.SetOffset(cl.Start); err != nil {
			r.Close()
			return handleErr("seek", err)
		}
		go func() {
			defer close(fetched)
			defer r.Close()
			c.fetch(done, cl, r, msgs)
		}()
	} else {
		close(fetched)
	}

	tick := time.NewTicker(o.TickInterval)
	defer tick.Stop()
	batch := make([]kafka.Message, 0, o.MaxBatch)
loop:
	for failed == nil {
		select {
		case <-done.Done():
			break loop
		case m := <-msgs:
			batch = append(batch[:0], m)
		more:
			for len(batch) < o.MaxBatch {
				select {
				case m := <-msgs:
					batch = append(batch, m)
				default:
					break more
				}
			}
			last := batch[len(batch)-1]
			cl.behind.Store(max(last.HighWaterMark-last.Offset-1, 0))
			t0 := time.Now()
			if err := h.Handle(ctx, cl, batch); err != nil {
				if ctx.Err() == nil {
					failed = fmt.Errorf("handle: %w", err)
				}
				break loop
			}
			c.m.handleTime.Observe(time.Since(t0).Seconds())
			c.m.batches.Inc()
			c.m.records.Add(float64(len(batch)))
		case <-tick.C:
			if err := h.Tick(ctx, cl); err != nil {
				if ctx.Err() == nil {
					failed = fmt.Errorf("tick: %w", err)
				}
				break loop
			}
			c.commit(cl)
		case <-cl.wake:
			c.commit(cl)
		}
	}
	stop()
	<-fetched
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer cancel()
	if err := h.Revoked(rctx, cl); err != nil {
		failed = errors.Join(failed, fmt.Errorf("revoked: %w", err))
	}
	// The last commit: a few attempts within the shutdown deadline; if the
	// generation is gone (broker lost, rebalance), the next owner replays
	// from the previous commit.
	for attempt := 0; attempt < 3; attempt++ {
		if c.commit(cl) == nil || !sleep(rctx, o.Backoff.Delay(attempt)) {
			break
		}
	}
	cl.log.Debug("partition released", "committed", cl.Committed())
	if failed != nil {
		if err := handleErr("partition handler", failed); err != nil {
			return err
		}
		// Do not spin on a failure that persists: the generation ends when
		// this returns, and the partitions are claimed again.
		sleep(ctx, o.Backoff.Delay(2))
	}
	return nil
}

// fetch reads the partition in order into msgs until ctx ends, retrying
// failures with backoff (the reader reconnects by itself).
func (c *Consumer) fetch(ctx context.Context, cl *Claim, r *kafka.Reader, msgs chan<- kafka.Message) {
	for attempt := 0; ; {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.m.retries.WithLabelValues(OpFetch).Inc()
			d := c.o.Backoff.Delay(attempt)
			attempt++
			cl.log.Warn("kafka fetch failed; retrying", "attempt", attempt, "backoff", d, "err", err)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		attempt = 0
		select {
		case msgs <- m:
		case <-ctx.Done():
			return
		}
	}
}
