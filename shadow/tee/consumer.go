package tee

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/obs"
)

// Handler is what a component gives the Consumer. For each partition the
// consumer owns in a generation, the calls come from that partition's one
// goroutine, in this order: Assigned, then Handle and Tick as records and
// ticks come, then Revoked once. Calls for different partitions run
// concurrently.
type Handler interface {
	// Assigned: the consumer took c (a new generation). Per-partition state
	// starts here.
	Assigned(ctx context.Context, c *Claim) error
	// Handle processes a batch of consecutive records of c. The generation
	// cannot end while it runs (a rebalance waits for it). It marks what is
	// durable with c.Durable, now or later, from any goroutine.
	Handle(ctx context.Context, c *Claim, batch []kafka.Message) error
	// Tick runs every Options.TickInterval between batches, idle or not
	// (time-driven flushes).
	Tick(ctx context.Context, c *Claim) error
	// Revoked is the last call for c in its generation (rebalance, broker
	// lost, shutdown): the final flush. Its ctx carries ShutdownTimeout. It
	// is called even when Assigned failed.
	// The consumer commits what it marked durable once it returns.
	Revoked(ctx context.Context, c *Claim) error
}

// Fatal wraps a handler error that must stop the consumer: Run returns it.
// Any other handler error ends the generation; the partitions are taken
// again (by this member or another) from their last commit.
type Fatal struct{ Err error }

func (f *Fatal) Error() string { return f.Err.Error() }
func (f *Fatal) Unwrap() error { return f.Err }

// Options configure a Consumer; Brokers, Topic, Group and Handler are
// required.
type Options struct {
	Brokers []string
	Topic   string
	// Group is the consumer group; a new group starts at the beginning of
	// the topic.
	Group   string
	Handler Handler
	// MaxBatch is the most records one Handle gets (1000).
	MaxBatch int
	// QueueSize bounds the records read ahead per partition (4096).
	QueueSize int
	// TickInterval is how often Tick runs and durable offsets are
	// committed (1s).
	TickInterval time.Duration
	// LagInterval is how often the partition lag gauge is refreshed from
	// the partitions' ends (5s).
	LagInterval time.Duration
	// MaxWait bounds a fetch when there is nothing to read (1.5s; kafka-go
	// keeps 1s of it for the round trip, so much shorter idle fetches time
	// out).
	MaxWait time.Duration
	// SessionTimeout of the group membership (10s): a killed member's
	// partitions move after this long.
	SessionTimeout time.Duration
	// ShutdownTimeout bounds Revoked and the last commit (30s); it is also
	// the rebalance timeout.
	ShutdownTimeout time.Duration
	// Backoff between retries of transient failures (100ms to 5s, jitter).
	Backoff Backoff
	// ResumeFromDurable: when this member takes a partition back whose
	// durable mark it could not commit before the generation ended (the
	// broker was away), start after that mark instead of the group's older
	// commit, and commit it. For components whose writes are not
	// idempotent (legacy): the records are durable already, so reading
	// them again would count them twice. Components that key durable state
	// by the committed offset (nextgen's ledger) leave it off.
	ResumeFromDurable bool

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultOptions returns the defaults; Brokers, Topic, Group and Handler
// must be set.
func DefaultOptions() Options {
	return Options{
		MaxBatch:        1000,
		QueueSize:       4096,
		TickInterval:    time.Second,
		LagInterval:     5 * time.Second,
		MaxWait:         1500 * time.Millisecond,
		SessionTimeout:  10 * time.Second,
		ShutdownTimeout: 30 * time.Second,
		Backoff:         DefaultBackoff(),
	}
}

func (o *Options) setDefaults() error {
	switch {
	case len(o.Brokers) == 0:
		return errors.New("consumer: no Kafka brokers")
	case o.Topic == "":
		return errors.New("consumer: no topic")
	case o.Group == "":
		return errors.New("consumer: no consumer group")
	case o.Handler == nil:
		return errors.New("consumer: no handler")
	}
	d := DefaultOptions()
	if o.MaxBatch <= 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if o.TickInterval <= 0 {
		o.TickInterval = d.TickInterval
	}
	if o.LagInterval <= 0 {
		o.LagInterval = d.LagInterval
	}
	if o.MaxWait <= 0 {
		o.MaxWait = d.MaxWait
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = d.SessionTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = d.ShutdownTimeout
	}
	if o.Backoff.Max <= 0 {
		o.Backoff = d.Backoff
	}
	return nil
}

// Consumer is the one Kafka consumer-group member of Brooks: archive,
// legacy ingest and the nextgen engine each run one (see the package doc).
type Consumer struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu     sync.Mutex
	claims map[int]*Claim // owned now
	marks  map[int]int64  // durable marks not committed when their claim ended

	commitMu    sync.Mutex // commits share the generation's coordinator connection
	joined      atomic.Bool
	generations atomic.Int64
}

// Generations is how many group generations the consumer joined.
func (c *Consumer) Generations() int64 { return c.generations.Load() }

// NewConsumer checks o and returns a consumer.
func NewConsumer(o Options) (*Consumer, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	log := obs.OrDiscard(o.Logger).With("group", o.Group, "topic", o.Topic)
	return &Consumer{o: o, log: log, m: newMetrics(o.Registerer, o.Group), claims: map[int]*Claim{}, marks: map[int]int64{}}, nil
}

// Ready reports whether the consumer is a member of its group now.
func (c *Consumer) Ready(context.Context) error {
	if !c.joined.Load() {
		return errors.New("not a member of the consumer group")
	}
	return nil
}

// Run consumes until ctx ends, then revokes every partition (final
// flushes and commits) and leaves the group. Transient failures (fetch,
// commit, join, a broker away) are retried with backoff for as long as it
// takes; Run returns nil after ctx ends, or the error of a Fatal handler
// failure.
func (c *Consumer) Run(ctx context.Context) error {
	o := &c.o
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                o.Group,
		Brokers:           o.Brokers,
		Topics:            []string{o.Topic},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: max(o.SessionTimeout/5, 200*time.Millisecond),
		SessionTimeout:    o.SessionTimeout,
		RebalanceTimeout:  o.ShutdownTimeout,
		JoinGroupBackoff:  o.Backoff.Min,
		Timeout:           10 * time.Second,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			c.log.Debug("kafka group: " + fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", o.Group, err)
	}
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); c.lagLoop(runCtx) }()

	c.log.Info("consumer starting")
	for attempt := 0; ; {
		gen, err := group.Next(runCtx)
		if runCtx.Err() != nil {
			break
		}
		if err != nil {
			c.joined.Store(false)
			c.m.retries.WithLabelValues(OpJoin).Inc()
			d := o.Backoff.Delay(attempt)
			attempt++
			c.log.Warn("joining the consumer group failed; retrying", "attempt", attempt, "backoff", d, "err", err)
			sleep(runCtx, d)
			continue
		}
		attempt = 0
		c.joined.Store(true)
		c.m.generations.Inc()
		c.generations.Add(1)
		assigned := gen.Assignments[o.Topic]
		ids := make([]int, len(assigned))
		for i, pa := range assigned {
			ids[i] = pa.ID
		}
		c.log.Info("partitions assigned", "generation", gen.ID, "partitions", ids)
		for _, pa := range assigned {
			gen.Start(func(gctx context.Context) {
				if err := c.runClaim(runCtx, gctx, gen, pa); err != nil {
					fail(err)
				}
			})
		}
	}
	c.joined.Store(false)
	// Close ends the generation, waits for every partition's Revoked and
	// last commit, then leaves the group so the partitions move at once.
	closeErr := group.Close()
	bg.Wait()
	c.log.Info("consumer stopped")
	var fatal *Fatal
	if cause := context.Cause(runCtx); errors.As(cause, &fatal) {
		return fmt.Errorf("consumer %s: %w", o.Group, fatal.Err)
	}
	if closeErr != nil && !errors.Is(closeErr, kafka.ErrGroupClosed) {
		c.log.Warn("leaving the consumer group", "err", closeErr)
	}
	return nil
}

// Claims returns the partitions owned now, by id.
func (c *Consumer) Claims() []*Claim {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Claim, 0, len(c.claims))
	for _, cl := range c.claims {
		out = append(out, cl)
	}
	return out
}

func (c *Consumer) own(cl *Claim) {
	c.mu.Lock()
	c.claims[cl.Partition] = cl
	c.m.assigned.Set(float64(len(c.claims)))
	c.mu.Unlock()
}

func (c *Consumer) release(cl *Claim) {
	c.mu.Lock()
	if off, ok := cl.offsets.pending(); ok {
		c.marks[cl.Partition] = off
	} else {
		delete(c.marks, cl.Partition)
	}
	if c.claims[cl.Partition] == cl {
		delete(c.claims, cl.Partition)
		c.m.lag.DeleteLabelValues(cl.label)
		c.m.committed.DeleteLabelValues(cl.label)
	}
	c.m.assigned.Set(float64(len(c.claims)))
	c.mu.Unlock()
}

// resumeAt is where a claim of partition p assigned at offset starts:
// offset, or the durable mark an earlier claim could not commit, if
// ResumeFromDurable and it is further.
func (c *Consumer) resumeAt(p int, offset int64) int64 {
	if !c.o.ResumeFromDurable {
		return offset
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.marks[p]; ok && m > offset {
		return m
	}
	return offset
}

// commit commits cl's durable offset if it moved; failures are counted,
// logged and retried at the next tick.
func (c *Consumer) commit(cl *Claim) error {
	off, ok := cl.offsets.pending()
	if !ok {
		return nil
	}
	c.commitMu.Lock()
	err := cl.gen.CommitOffsets(map[string]map[int]int64{c.o.Topic: {cl.Partition: off}})
	c.commitMu.Unlock()
	if err != nil {
		c.m.retries.WithLabelValues(OpCommit).Inc()
		cl.log.Warn("commit offset failed; will retry", "offset", off, "err", err)
		return err
	}
	cl.offsets.done(off)
	c.m.commits.Inc()
	c.m.committed.WithLabelValues(cl.label).Set(float64(off))
	return nil
}

func partitionLabel(p int) string { return strconv.Itoa(p) }
