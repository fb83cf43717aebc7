package legacy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/tee"
)

// add counts one record read under claim c into the window.
func (in *Ingester) add(w *window, c *tee.Claim, m kafka.Message) {
	w.records++
	w.last[m.Partition] = mark{claim: c, next: m.Offset + 1}
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

// flight is a realtime write running beside the consumption.
type flight struct {
	done chan struct{} // closed when err is set
	err  error
}

// startRealtime writes w's Redis part in the background, then hands w to
// the daily stage.
func (in *Ingester) startRealtime(stop context.Context, w *window, daily *dailyQueue, trigger string) *flight {
	f := &flight{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if f.err = in.writeRealtime(stop, w, trigger); f.err == nil {
			daily.add(w)
		}
	}()
	return f
}

// writeRealtime writes w's Redis part, retrying until it succeeds or stop
// ends.
func (in *Ingester) writeRealtime(stop context.Context, w *window, trigger string) error {
	if w.records == 0 {
		return nil // a flush asked by a revoked partition, with nothing new
	}
	t0 := time.Now()
	err := in.retry(stop, "redis", func(ctx context.Context) error { return in.store.WriteRealtime(ctx, w.batch) })
	if err != nil {
		return fmt.Errorf("flush %s to redis: %w", w.batch, err)
	}
	in.m.flushTime.WithLabelValues("redis").Observe(time.Since(t0).Seconds())
	in.m.flushes.WithLabelValues(trigger).Inc()
	in.realtime.Add(w.records)
	in.rtPageviews.Add(int64(w.batch.Len()))
	return nil
}

// retry calls write until it succeeds, with backoff, or stop ends.
// Attempts are not cut short by stop: an interrupted write would leave its
// outcome unknown.
func (in *Ingester) retry(stop context.Context, store string, write func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(context.WithoutCancel(stop), 2*time.Minute)
		err := write(actx)
		cancel()
		if err == nil {
			return nil
		}
		in.m.flushErrors.WithLabelValues(store).Inc()
		in.log.Warn("legacy flush failed, retrying", "store", store, "err", err, "backoff", backoff)
		select {
		case <-stop.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// pendingDaily is what the daily stage has to write next: the merged daily
// totals of one or more windows whose Redis part is written, their highest
// offsets and their ledger tallies.
type pendingDaily struct {
	daily   *Daily
	last    map[int]mark
	records int64
	ledger  *ledger.Accumulator
	waiters []chan error
}

// dailyQueue hands windows from the realtime stage to the daily stage,
// merging those that arrive while a bulk upsert runs.
type dailyQueue struct {
	mu      sync.Mutex
	pending *pendingDaily
	closed  bool
	signal  chan struct{}
}

func newDailyQueue() *dailyQueue { return &dailyQueue{signal: make(chan struct{}, 1)} }

func (q *dailyQueue) add(w *window) {
	q.mu.Lock()
	if q.pending == nil {
		q.pending = &pendingDaily{daily: NewDaily(), last: map[int]mark{}, ledger: ledger.NewAccumulator()}
	}
	p := q.pending
	p.daily.Merge(w.batch.Daily())
	for part, m := range w.last {
		p.last[part] = m
	}
	p.waiters = append(p.waiters, w.waiters...)
	p.records += w.records
	p.ledger.Restore(w.ledger.Drain())
	q.mu.Unlock()
	q.wake()
}

func (q *dailyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

func (q *dailyQueue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take waits for pending work; it returns nil once the queue is closed and
// empty.
func (q *dailyQueue) take() *pendingDaily {
	for {
		q.mu.Lock()
		p, closed := q.pending, q.closed
		q.pending = nil
		q.mu.Unlock()
		if p != nil || closed {
			return p
		}
		<-q.signal
	}
}

// runDaily is the daily stage: it upserts the pending daily totals into
// MongoDB, one bulk write at a time, and marks the offsets they cover
// durable (the consumer commits them; a commit that fails means those
// records are read and counted again: at-least-once). It returns when the
// queue is closed and drained, or when a write fails until stop ends.
func (in *Ingester) runDaily(stop context.Context, q *dailyQueue) error {
	for {
		p := q.take()
		if p == nil {
			return nil
		}
		t0 := time.Now()
		if p.records > 0 {
			err := in.retry(stop, "mongo", func(ctx context.Context) error { return in.store.WriteDaily(ctx, p.daily) })
			if err != nil {
				return fmt.Errorf("flush %d daily documents to mongo (their records will be read again): %w", p.daily.Docs(), err)
			}
			in.m.flushTime.WithLabelValues("mongo").Observe(time.Since(t0).Seconds())
			in.m.batchSize.Observe(float64(p.daily.Len()))
			in.m.lastFlush.SetToCurrentTime()
			in.flushes.Add(1)
			in.flushed.Add(p.records)
			in.pageviews.Add(int64(p.daily.Len()))
			if in.opts.Ledger != nil {
				in.opts.Ledger.Restore(p.ledger.Drain())
			}
			if in.crashBeforeCommit != nil {
				return in.crashBeforeCommit
			}
		}
		for _, m := range p.last {
			m.claim.Durable(m.next)
		}
		in.committed.Add(p.records)
		in.durable(p.waiters)
		in.log.Debug("legacy flushed", "records", p.records, "pageviews", p.daily.Len(), "docs", p.daily.Docs(), "took", time.Since(t0))
	}
}
