package ledger

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Writer records a batch of a stage's tallies; *Store and *Lazy satisfy it.
type Writer interface {
	Record(ctx context.Context, stage, writer, batch string, tallies map[Key]Tally) error
}

// Recorder flushes an Accumulator to a Store every interval, and once more
// when its context ends. A failed flush keeps its tallies, under the same
// batch id, and writes them again first at the next flush: a write that
// timed out or failed after it applied is overwritten, never counted
// twice. Store may be a *Lazy, so a component can start while Cassandra is
// down.
type Recorder struct {
	Acc      *Accumulator
	Store    Writer
	Stage    string
	Writer   string
	Interval time.Duration
	Logger   *slog.Logger

	seq atomic.Int64

	mu        sync.Mutex // one flush at a time
	pending   map[Key]Tally
	pendingID string
}

// WriterID names this process uniquely: host, pid and start time.
func WriterID(component string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s:%d:%s", component, host, os.Getpid(), strconv.FormatInt(time.Now().UnixNano(), 36))
}

// Run flushes until ctx ends, then flushes the rest.
func (r *Recorder) Run(ctx context.Context) error {
	iv := r.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return r.Flush(fctx)
		case <-tick.C:
			if err := r.Flush(ctx); err != nil && r.Logger != nil {
				r.Logger.Warn("ledger flush failed; will retry", "stage", r.Stage, "err", err)
			}
		}
	}
}

// Flush records what the accumulator holds now. A batch whose write
// failed is written again first, with its batch id.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending != nil {
		if err := r.Store.Record(ctx, r.Stage, r.Writer, r.pendingID, r.pending); err != nil {
			return err
		}
		r.pending, r.pendingID = nil, ""
	}
	m := r.Acc.Drain()
	if len(m) == 0 {
		return nil
	}
	batch := strconv.FormatInt(r.seq.Add(1), 10)
	if err := r.Store.Record(ctx, r.Stage, r.Writer, batch, m); err != nil {
		r.pending, r.pendingID = m, batch
		return err
	}
	return nil
}
