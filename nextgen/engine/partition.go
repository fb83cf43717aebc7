package engine

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// partition is the one writer of a Kafka partition's rollup documents for
// one generation. Three goroutines feed it: a fetcher (Kafka → records), an
// ingester (decode, raw store insert and eid decision, in batches) and,
// one at a time, a flush (bulk write). The partition's own goroutine owns
// the table: it applies batches, snapshots dirty documents, handles flush
// results and commits.
type partition struct {
	e     *Engine
	gen   *kafka.Generation
	id    int
	label string
	start int64
	log   *slog.Logger
	table *table

	applied   int64     // offset after the last record applied (or assigned start)
	committed int64     // last committed offset
	oldest    time.Time // receive time of the oldest event applied since the last snapshot

	dailyFlushed time.Time // when 1-day documents were last snapshotted
	tickApplied  int64     // applied at the previous flush tick
	flushed      time.Time // when the last flush began
	lag          atomic.Int64
}

func newPartition(e *Engine, gen *kafka.Generation, pa kafka.PartitionAssignment) *partition {
	return &partition{
		e: e, gen: gen, id: pa.ID, label: strconv.Itoa(pa.ID), start: pa.Offset,
		log:   e.log.With("partition", pa.ID, "generation", gen.ID),
		table: newTable(e.o.Registry, e.o.ES), applied: -1, committed: -1,
	}
}

// run consumes until ctx (shutdown) or gctx (rebalance) ends, then flushes
// and commits what it applied.
func (p *partition) run(ctx, gctx context.Context) error {
	done, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-gctx.Done():
			stop()
		case <-done.Done():
		}
	}()
	o := p.e.o
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: o.Brokers, Topic: o.Topic, Partition: p.id,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: 4096,
	})
	if err := reader.SetOffset(p.start); err != nil {
		reader.Close()
		return err
	}
	if p.start >= 0 {
		p.applied, p.committed = p.start, p.start
	}
	p.log.Info("partition assigned", "offset", p.start)

	msgs := make(chan kafka.Message, o.MaxBatch)
	prepared := make(chan *batch, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.fetch(done, reader, msgs) }()
	go func() { defer wg.Done(); p.ingest(done, msgs, prepared) }()

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
			catchUp := p.lag.Load() > int64(4*o.MaxBatch) && time.Since(p.flushed) < o.CatchUpFlushInterval
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
	reader.Close()
	if inFlight {
		r := <-results
		if err := p.finish(context.Background(), r); err != nil {
			return errors.Join(runErr, err)
		}
	}
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
			p.log.Info("partition released", "committed", p.committed, "flushes", attempt+1)
			return nil
		}
		if ctx.Err() != nil {
			return errors.New("final flush did not finish before the shutdown timeout; the next owner replays from the last commit")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fetch reads records in order into msgs until ctx ends.
func (p *partition) fetch(ctx context.Context, r *kafka.Reader, msgs chan<- kafka.Message) {
	for n := 0; ; n++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("fetch", "err", err)
			}
			return
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return
		}
		if n%256 == 0 {
			lag := r.Lag()
			p.lag.Store(lag)
			p.e.m.lag.WithLabelValues(p.label).Set(float64(lag))
		}
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
