package engine

import (
	"context"
	"time"

	"github.com/brooksdata/brooks/rollup"
)

// apply rolls a prepared batch up into the table: the documents read
// ahead are installed, those still missing are read now, then each fresh
// record is applied to its cells unless their watermark already covers its
// offset.
func (p *partition) apply(ctx context.Context, b *batch) error {
	m := p.e.m
	now := p.e.o.Now()
	if len(b.prefetched) > 0 {
		p.table.install(b.prefetched, b.epoch)
	}
	var missing []rollup.Key
	queued := map[rollup.Key]bool{}
	for i := range b.items {
		for _, k := range b.items[i].keys {
			if p.table.entries[k] == nil && !queued[k] {
				queued[k] = true
				missing = append(missing, k)
			}
		}
	}
	for attempt := 0; len(missing) > 0; attempt++ {
		start := time.Now()
		ens, found, err := p.table.fetch(ctx, missing, now)
		if err == nil {
			m.loadTime.Observe(time.Since(start).Seconds())
			m.loaded.WithLabelValues("true").Add(float64(found))
			m.loaded.WithLabelValues("false").Add(float64(len(missing) - found))
			p.table.mu.Lock()
			for _, en := range ens {
				p.table.entries[en.cell.Key] = en
			}
			p.table.mu.Unlock()
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.log.Warn("loading rollup docs failed; retrying", "attempt", attempt+1, "docs", len(missing), "err", err)
		if !sleep(ctx, backoff(attempt)) {
			return ctx.Err()
		}
	}
	for i := range b.items {
		it := &b.items[i]
		applied := false
		for _, k := range it.keys {
			en := p.table.entries[k]
			if en.cell.Apply(&it.f, it.offset) {
				applied = true
				en.touched = now
				p.table.markDirty(en, it.offset)
			}
		}
		if applied {
			m.applied.Inc()
			if rt := it.f.Event.ReceivedAt; p.oldest.IsZero() || rt.Before(p.oldest) {
				p.oldest = rt
			}
		} else {
			m.replayed.Inc()
		}
	}
	p.led.add(b.ledger)
	p.applied = b.next
	p.e.setStatus(Status{Partition: p.id, Applied: p.applied, Committed: p.committed})
	return nil
}
