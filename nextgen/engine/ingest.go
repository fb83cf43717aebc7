package engine

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// batch is a run of consecutive records of the partition, decoded, with
// their eid outcomes decided by the raw store, ready to apply.
type batch struct {
	recs     []rawstore.Record
	outcomes []rawstore.Outcome
	items    []item // the fresh records to roll up
	ledger   []ledgerRec
	next     int64 // offset after the batch's last record

	// Documents read ahead of time for the batch's cells, valid if no
	// eviction happened since epoch.
	prefetched []*entry
	epoch      int64
}

// item is a fresh record ready to apply: its fact and its cells' keys.
type item struct {
	f      rollup.Fact
	offset int64
	keys   []rollup.Key
}

// ingest takes what msgs holds (up to MaxBatch) and decodes it; then, at
// the same time, the raw store writes it and decides eid origins, and the
// documents of its cells that are not in memory are read from
// Elasticsearch. The batch then goes to the partition's goroutine. The
// Deduper remembers the eids this writer stored; before the first batch it
// reads back those stored in the hours the batch's events would search.
func (p *partition) ingest(ctx context.Context, msgs <-chan kafka.Message, out chan<- *batch) {
	o := p.e.o
	dedupe := o.Raw.NewDeduper(int32(p.id), o.Now())
	primed := false
	var last rawstore.DedupeStats
	for {
		var first kafka.Message
		select {
		case first = <-msgs:
		case <-ctx.Done():
			return
		}
		ms := []kafka.Message{first}
	more:
		for len(ms) < o.MaxBatch {
			select {
			case m := <-msgs:
				ms = append(ms, m)
			default:
				break more
			}
		}
		b, oldest := p.decode(ms)
		if !primed && len(b.recs) > 0 {
			if !p.prime(ctx, dedupe, oldest) {
				return
			}
			primed = true
		}
		facts, keys := p.derive(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.prefetch(ctx, b, keys)
		}()
		ok := p.insert(ctx, dedupe, b)
		wg.Wait()
		if !ok {
			return
		}
		p.prepare(b, facts, keys)
		st := dedupe.Stats()
		p.e.m.eidMemory.Add(float64(st.FromMemory - last.FromMemory))
		p.e.m.eidLookup.Add(float64(st.LookedUp - last.LookedUp))
		last = st
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
	}
}

// decode turns messages into records; undecodable ones are counted and
// skipped (their offsets still pass).
func (p *partition) decode(ms []kafka.Message) (*batch, time.Time) {
	start := time.Now()
	b := &batch{next: ms[len(ms)-1].Offset + 1, recs: make([]rawstore.Record, 0, len(ms))}
	var oldest time.Time
	for _, m := range ms {
		e, err := pixel.Unmarshal(m.Value)
		if err != nil {
			p.e.m.dropped.WithLabelValues("decode").Inc()
			p.log.Warn("undecodable record skipped", "offset", m.Offset, "err", err)
			continue
		}
		if oldest.IsZero() || e.ReceivedAt.Before(oldest) {
			oldest = e.ReceivedAt
		}
		b.recs = append(b.recs, rawstore.Record{Event: e, Value: m.Value, Partition: int32(m.Partition), Offset: m.Offset})
	}
	p.e.m.decodeTime.Observe(time.Since(start).Seconds())
	return b, oldest
}

// prime reads back the eids stored for the hours the first batch's events
// would search; false when ctx ended.
func (p *partition) prime(ctx context.Context, d *rawstore.Deduper, from time.Time) bool {
	o := p.e.o
	for attempt := 0; ; attempt++ {
		start := time.Now()
		n, err := d.Prime(ctx, o.Customers.IDs(), from, o.PrimeLimit)
		if err == nil {
			p.log.Info("eid memory primed", "rows", n, "limit", o.PrimeLimit, "from", from, "took", time.Since(start).Round(time.Millisecond))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.log.Warn("priming the eid memory failed; retrying", "attempt", attempt+1, "err", err)
		if !sleep(ctx, backoff(attempt)) {
			return false
		}
	}
}

// insert writes the batch to the raw store, retrying until it succeeds;
// false when ctx ended.
func (p *partition) insert(ctx context.Context, d *rawstore.Deduper, b *batch) bool {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		outcomes, err := d.Insert(ctx, b.recs)
		if err == nil {
			p.e.m.rawInsert.Observe(time.Since(start).Seconds())
			b.outcomes = outcomes
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.log.Warn("raw store insert failed; retrying", "attempt", attempt+1, "records", len(b.recs), "err", err)
		if !sleep(ctx, backoff(attempt)) {
			return false
		}
	}
}

// derive computes each record's fact and live cell keys (nil keys: the
// record counts nothing: unknown customer, no metric, expired buckets).
func (p *partition) derive(b *batch) ([]rollup.Fact, [][]rollup.Key) {
	o := p.e.o
	m := p.e.m
	now := o.Now()
	facts := make([]rollup.Fact, len(b.recs))
	keys := make([][]rollup.Key, len(b.recs))
	for i := range b.recs {
		r := &b.recs[i]
		c, err := o.Customers.Get(r.Event.Customer)
		if err != nil {
			continue
		}
		facts[i] = o.Registry.Fact(&r.Event, c)
		if !o.Registry.Contributes(&facts[i]) {
			continue
		}
		ks := rollup.AppendSiteKeys(o.Registry.Keys(int32(p.id), &facts[i], rollup.Granularities))
		live := ks[:0]
		for _, k := range ks {
			if esindex.BucketExpired(k.Granularity, k.Bucket, now) {
				m.dropped.WithLabelValues("expired_" + string(k.Granularity)).Inc()
				continue
			}
			live = append(live, k)
		}
		keys[i] = live
	}
	return facts, keys
}

// prefetch reads the documents of the batch's cells that are not in
// memory. A failure only costs time: the partition reads what is still
// missing itself.
func (p *partition) prefetch(ctx context.Context, b *batch, keys [][]rollup.Key) {
	var missing []rollup.Key
	queued := map[rollup.Key]bool{}
	var epoch int64
	for _, ks := range keys {
		for _, k := range ks {
			if queued[k] {
				continue
			}
			queued[k] = true
			var in bool
			if in, epoch = p.table.has(k); !in {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	start := time.Now()
	ens, found, err := p.table.fetch(ctx, missing, p.e.o.Now())
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("reading rollup docs ahead failed", "docs", len(missing), "err", err)
		}
		return
	}
	p.e.m.loadTime.Observe(time.Since(start).Seconds())
	p.e.m.loaded.WithLabelValues("true").Add(float64(found))
	p.e.m.loaded.WithLabelValues("false").Add(float64(len(missing) - found))
	b.prefetched, b.epoch = ens, epoch
}

// prepare keeps the records to roll up: fresh (not duplicates) and
// counting something.
func (p *partition) prepare(b *batch, facts []rollup.Fact, keys [][]rollup.Key) {
	m := p.e.m
	b.items = make([]item, 0, len(b.recs))
	keep := p.led.w != nil
	for i := range b.recs {
		if keep && b.outcomes[i] == rawstore.Fresh {
			r := &b.recs[i]
			b.ledger = append(b.ledger, ledgerRec{offset: r.Offset, key: ledger.KeyOf(r.Event.Customer, r.Event.ReceivedAt),
				hash: ledger.HashEID(r.Event.EID), rollup: facts[i].Customer != nil})
		}
		switch {
		case b.outcomes[i] == rawstore.Duplicate:
			m.duplicate.Inc()
		case facts[i].Customer == nil:
			m.dropped.WithLabelValues("unknown_customer").Inc()
		case keys[i] == nil:
			m.ignored.Inc()
		default:
			b.items = append(b.items, item{f: facts[i], offset: b.recs[i].Offset, keys: keys[i]})
		}
	}
}
