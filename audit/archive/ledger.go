package archive

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// LedgerWriter records tallies in the lineage ledger; *ledger.Store and
// *ledger.Lazy satisfy it.
type LedgerWriter = ledger.Writer

// LedgerWriterName is the ledger writer of every archiver: the batch is
// the part's key, so recording a part again (a retry, a replay at start)
// overwrites its row instead of adding to it.
const LedgerWriterName = "archiver"

// ledgerQueue records closed parts in the ledger. A part is recorded right
// after it is durable; if that fails (Cassandra down) it waits here and is
// retried, and the archive goes on: its progress never depends on the
// ledger. Parts still waiting when the process dies are recorded again at
// the next start from their manifests (Options.LedgerReplay).
type ledgerQueue struct {
	w   LedgerWriter
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	pending map[string]*Manifest
}

func newLedgerQueue(w LedgerWriter, log *slog.Logger, m *metrics) *ledgerQueue {
	return &ledgerQueue{w: w, log: log, m: m, pending: map[string]*Manifest{}}
}

func tallies(man *Manifest) (map[ledger.Key]ledger.Tally, bool) {
	if man.Customer == InvalidCustomer {
		return nil, false
	}
	t, err := man.Tally()
	if err != nil || t.Count == 0 {
		return nil, false
	}
	return map[ledger.Key]ledger.Tally{ledger.KeyOf(man.Customer, man.Hour): t}, true
}

// record writes man's tally now, or queues it if the ledger is failing.
func (q *ledgerQueue) record(ctx context.Context, man *Manifest) {
	if q == nil || q.w == nil {
		return
	}
	tl, ok := tallies(man)
	if !ok {
		return
	}
	q.mu.Lock()
	backlog := len(q.pending)
	q.mu.Unlock()
	if backlog == 0 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := q.w.Record(rctx, ledger.StageArchive, LedgerWriterName, man.Key, tl)
		cancel()
		if err == nil {
			return
		}
		q.m.ledgerErrors.Inc()
		q.log.Warn("ledger write failed; the part is archived and its tally will be retried", "key", man.Key, "err", err)
	}
	q.add(man)
}

func (q *ledgerQueue) add(man *Manifest) {
	q.mu.Lock()
	q.pending[man.Key] = man
	q.m.ledgerQueue.Set(float64(len(q.pending)))
	q.mu.Unlock()
}

// retry records every queued part, stopping at the first failure.
func (q *ledgerQueue) retry(ctx context.Context) (left int) {
	q.mu.Lock()
	todo := make([]*Manifest, 0, len(q.pending))
	for _, m := range q.pending {
		todo = append(todo, m)
	}
	q.mu.Unlock()
	for _, man := range todo {
		if ctx.Err() != nil {
			break
		}
		tl, ok := tallies(man)
		if ok {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := q.w.Record(rctx, ledger.StageArchive, LedgerWriterName, man.Key, tl)
			cancel()
			if err != nil {
				q.m.ledgerErrors.Inc()
				q.log.Warn("ledger retry failed", "pending", len(todo), "err", err)
				break
			}
		}
		q.mu.Lock()
		delete(q.pending, man.Key)
		q.mu.Unlock()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.m.ledgerQueue.Set(float64(len(q.pending)))
	return len(q.pending)
}

// run retries the queue every interval until ctx ends.
func (q *ledgerQueue) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.retry(ctx)
		}
	}
}

// replay queues the manifests of topic created since `since`, so tallies
// that were still queued when an earlier process died reach the ledger.
// Recording a part twice is harmless (the batch is the part's key).
func (q *ledgerQueue) replay(ctx context.Context, sink Sink, topic string, since, now time.Time) (int, error) {
	customers, err := sink.List(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range customers {
		cust := strings.TrimSuffix(c, "/")
		if !strings.HasSuffix(c, "/") || cust == InvalidCustomer {
			continue
		}
		for h := since.UTC().Truncate(time.Hour); !h.After(now); h = h.Add(time.Hour) {
			keys, err := sink.List(ctx, HourPrefix(cust, h))
			if err != nil {
				return n, err
			}
			for _, k := range keys {
				if !strings.HasSuffix(k, ManifestSuffix) {
					continue
				}
				man, err := ReadManifest(ctx, sink, k)
				if err != nil {
					q.log.Warn("ledger replay: skipping unreadable manifest", "key", k, "err", err)
					continue
				}
				if man.Topic == topic && !man.CreatedAt.Before(since) {
					q.add(man)
					n++
				}
			}
		}
	}
	return n, nil
}
