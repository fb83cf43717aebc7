package engine

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/shadow/tee"
)

// partition is the one writer of a Kafka partition's rollup documents for
// one generation. The consumer's Handle feeds its records into msgs; an
// ingester goroutine (decode, raw store insert and eid decision, in
// batches) and, one at a time, a flush (bulk write) feed the partition's
// own goroutine, which owns the table: it applies batches, snapshots dirty
// documents, handles flush results and marks offsets durable (the
// consumer commits them).
type partition struct {
	e     *Engine
	claim *tee.Claim
	id    int
	label string
	log   *slog.Logger
	table *table
	led   *partitionLedger

	msgs    chan kafka.Message
	cancel  context.CancelFunc
	ctx     context.Context
	stopped chan struct{} // closed when run returned; err is set
	err     error

	applied   int64     // offset after the last record applied (or assigned start)
	committed int64     // offset marked durable last
	oldest    time.Time // receive time of the oldest event applied since the last snapshot

	dailyFlushed time.Time // when 1-day documents were last snapshotted
	tickApplied  int64     // applied at the previous flush tick
	flushed      time.Time // when the last flush began
}

func newPartition(e *Engine, c *tee.Claim) *partition {
	ctx, cancel := context.WithCancel(context.Background())
	p := &partition{
		e: e, claim: c, id: c.Partition, label: strconv.Itoa(c.Partition),
		log:   e.log.With("partition", c.Partition, "generation", c.Generation),
		table: newTable(e.o.Registry, e.o.ES), applied: -1, committed: -1,
		msgs: make(chan kafka.Message, e.o.MaxBatch), ctx: ctx, cancel: cancel, stopped: make(chan struct{}),
	}
	p.led = newPartitionLedger(e, p)
	return p
}

func (p *partition) start() {
	go func() {
		defer close(p.stopped)
		p.err = p.run(p.ctx)
	}()
}

// stop ends run: it flushes and commits what it applied.
func (p *partition) stop() { p.cancel() }

// run consumes until ctx ends (revoked), then flushes and marks durable
// what it applied.
func (p *partition) run(ctx context.Context) error {
	done, stop := context.WithCancel(ctx)
	defer stop()
	o := p.e.o
	if p.claim.Start >= 0 {
		p.applied, p.committed = p.claim.Start, p.claim.Start
	}
	p.log.Info("partition assigned", "offset", p.claim.Start)

	prepared := make(chan *batch, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.ingest(done, p.msgs, prepared) }()

	ticker := time.NewTicker(o.FlushInterval)
	defer ticker.Stop()
	results := make(chan flushResult, 1)
	inFlight := false
	var runErr error
loop:
	for {
		in := prepared
		if inFlight && p.table.dirty >= o.MaxDirty {
			in = nil // backpressure: wait for the flush
		}
		select {
		case <-done.Done():
			break loop
		case b := <-in:
			start := time.Now()
			err := p.apply(done, b)
			p.e.m.applyTime.Observe(time.Since(start).Seconds())
			if err != nil {
				if done.Err() == nil {
					runErr = err
				}
				break loop
			}
		case <-ticker.C:
			// Catching up (far behind the partition's end), write less
			// often: freshness is lost anyway, and each write of a
			// document replaces all of it.
			catchUp := p.claim.Behind() > int64(4*o.MaxBatch) && time.Since(p.flushed) < o.CatchUpFlushInterval
			if !inFlight && !catchUp && (p.table.dirty > 0 || p.applied > p.committed) {
				inFlight = true
				p.flushed = time.Now()
				// 1-day documents every DailyFlushInterval, or at once when
				// the partition went idle (nothing applied since the last tick).
				daily := time.Since(p.dailyFlushed) >= o.DailyFlushInterval || p.applied == p.tickApplied
				if daily {
					p.dailyFlushed = time.Now()
				}
				job := p.snapshot(daily)
				go func() { results <- p.write(done, job) }()
			}
			p.tickApplied = p.applied
			p.table.evict(time.Now().Add(-o.IdleEvict))
			p.e.m.cells.WithLabelValues(p.label).Set(float64(len(p.table.entries)))
		case r := <-results:
			inFlight = false
			if err := p.finish(done, r); err != nil {
				runErr = err
				break loop
			}
		}
	}
	stop()
	wg.Wait()
	if inFlight {
		r := <-results
		if err := p.finish(context.Background(), r); err != nil {
			return errors.Join(runErr, err)
		}
	}
	p.e.m.cells.DeleteLabelValues(p.label)
	if runErr != nil {
		return runErr // documents may be behind a newer owner: do not write
	}
	return p.drain()
}

// drain is the final flush on shutdown or rebalance: write everything
// applied, then commit, within ShutdownTimeout.
func (p *partition) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.e.o.ShutdownTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		if p.table.dirty == 0 && p.applied <= p.committed {
			p.log.Info("partition released", "committed", p.committed)
			return nil
		}
		if err := p.finish(ctx, p.write(ctx, p.snapshot(true))); err != nil {
			return err
		}
		if p.table.dirty == 0 {
			p.commit(p.applied)
			if p.committed >= p.applied {
				p.log.Info("partition released", "committed", p.committed, "flushes", attempt+1)
				return nil
			}
		}
		if ctx.Err() != nil {
			return errors.New("final flush did not finish before the shutdown timeout; the next owner replays from the last commit")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 6)
	return min(d, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
