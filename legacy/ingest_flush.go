package legacy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/pixel"
)

// add counts one record into the window.
func (in *Ingester) add(w *window, m kafka.Message) {
	w.records++
	w.last[m.Partition] = m
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

// flight is a flush running beside the consumption.
type flight struct {
	w    *window
	done chan struct{} // closed when err is set
	err  error
}

// startFlush flushes w in the background; stop ends its retries.
func (in *Ingester) startFlush(stop context.Context, r *kafka.Reader, w *window, trigger string) *flight {
	f := &flight{w: w, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.err = in.flush(stop, r, w, trigger)
	}()
	return f
}

// stopAfter ends Run after the flush in flight failed: only the end of ctx
// (or a simulated crash) makes a flush fail.
func (in *Ingester) stopAfter(ctx context.Context, r *kafka.Reader, f *flight, w *window) error {
	if in.crashBeforeCommit != nil && errors.Is(f.err, in.crashBeforeCommit) {
		return f.err
	}
	return in.shutdown(ctx, r, f, w, nil)
}

// shutdown finishes the flush in flight (again, if ctx cut it short), then
// flushes and commits the last window, and returns cause (nil for a clean
// stop) or the flush error.
func (in *Ingester) shutdown(ctx context.Context, r *kafka.Reader, f *flight, w *window, cause error) error {
	if cause != nil && ctx.Err() == nil {
		in.log.Error("legacy ingest stopping", "err", cause)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.opts.ShutdownTimeout)
	defer cancel()
	if f != nil {
		<-f.done
		if f.err != nil {
			if in.crashBeforeCommit != nil && errors.Is(f.err, in.crashBeforeCommit) {
				return f.err
			}
			if err := in.flush(sctx, r, f.w, "shutdown"); err != nil {
				return errors.Join(cause, fmt.Errorf("last flush (its records will be read again): %w", err))
			}
		}
	}
	if err := in.flush(sctx, r, w, "shutdown"); err != nil {
		return errors.Join(cause, fmt.Errorf("last flush (its records will be read again): %w", err))
	}
	st := in.Stats()
	in.log.Info("legacy ingest stopped", "records", st.Records, "pageviews", st.Pageviews, "committed", st.Committed)
	if ctx.Err() != nil && errors.Is(cause, ctx.Err()) {
		return nil
	}
	return cause
}

// flush writes the window's batch to both stores, retrying with backoff
// until it succeeds or stop ends, then commits the window's offsets. A
// commit that fails is logged and counted: those records will be read and
// counted again (at-least-once). Flushing a window that was flushed
// already (its commit failed, or shutdown retries it) only commits again.
func (in *Ingester) flush(stop context.Context, r *kafka.Reader, w *window, trigger string) error {
	if w.records == 0 {
		return nil
	}
	if !w.written {
		if err := in.write(stop, w, trigger); err != nil {
			return err
		}
	}
	if in.crashBeforeCommit != nil {
		return in.crashBeforeCommit
	}
	last := make([]kafka.Message, 0, len(w.last))
	for _, m := range w.last {
		last = append(last, m)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(stop), 30*time.Second)
	defer cancel()
	if err := r.CommitMessages(cctx, last...); err != nil {
		in.m.commitErrs.Inc()
		in.log.Warn("legacy commit failed after flush: these records will be counted again", "err", err, "records", w.records)
		return nil
	}
	in.committed.Add(w.records)
	return nil
}

// write puts the window's batch in both stores, retrying until it succeeds
// or stop ends.
func (in *Ingester) write(stop context.Context, w *window, trigger string) error {
	start := time.Now()
	if !w.batch.Empty() {
		backoff := 100 * time.Millisecond
		for {
			// Attempts are not cut short by stop: an interrupted write would
			// leave its outcome unknown.
			actx, cancel := context.WithTimeout(context.WithoutCancel(stop), 2*time.Minute)
			err := in.store.Write(actx, w.batch)
			cancel()
			if err == nil {
				break
			}
			var we *WriteError
			store := "unknown"
			if errors.As(err, &we) {
				store = we.Store
			}
			in.m.flushErrors.WithLabelValues(store).Inc()
			in.log.Warn("legacy flush failed, retrying", "err", err, "pageviews", w.batch.Len(), "backoff", backoff)
			select {
			case <-stop.Done():
				return fmt.Errorf("flush %s: %w", w.batch, err)
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
	w.written = true
	took := time.Since(start)
	in.m.flushTime.Observe(took.Seconds())
	in.m.batchSize.Observe(float64(w.batch.Len()))
	in.m.flushes.WithLabelValues(trigger).Inc()
	in.m.lastFlush.SetToCurrentTime()
	in.flushes.Add(1)
	in.flushed.Add(w.records)
	in.pageviews.Add(int64(w.batch.Len()))
	if in.opts.Ledger != nil {
		in.opts.Ledger.Restore(w.ledger.Drain())
	}
	in.log.Debug("legacy flushed", "trigger", trigger, "records", w.records, "pageviews", w.batch.Len(), "took", took)
	return nil
}
