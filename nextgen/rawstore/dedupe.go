package rawstore

import (
	"context"
	"fmt"
	"time"
)

// Deduper is Insert for the one writer of a Kafka partition, with a memory
// of the eids stored for that partition: per UTC hour, a Bloom filter of
// the eids of its rows. An eid that every hour Insert would search has in
// memory, and that none of their filters may contain, was surely never
// stored: it is written without a lookup. Everything else (a filter says
// "maybe", about 1 % of new eids, or an hour the memory does not cover) is
// looked up in Cassandra as Insert does. The outcome is the same as
// Insert's; only the reads differ.
//
// An hour is covered when the memory holds every row of the partition in
// it: hours after the Deduper was made (the writer stores every row in
// them itself), and the hours Prime read back from Cassandra. A writer that
// keeps its partition for LookbackHours reads nothing any more, except for
// filter false positives and late events.
type Deduper struct {
	s         *Store
	partition int32

	filters map[int64]*bloom // by hour (Unix seconds)
	// Hours after ownFrom are covered for every customer; hours in
	// [primeFrom, ownFrom] only for the customers Prime read.
	ownFrom   int64
	primeFrom int64
	primed    map[string]bool
	keptFrom  int64 // filters of older hours were dropped
	newest    int64

	stats DedupeStats
}

// DedupeStats counts how eids were decided.
type DedupeStats struct {
	// FromMemory eids were known new without a lookup; Looked up were
	// searched in Cassandra.
	FromMemory, LookedUp int
	// Primed is the number of eids Prime read back.
	Primed int
}

// clockMargin is how far past now a collector's receive time may be (clock
// skew between hosts), so an hour is "in the future" only after it.
const clockMargin = 10 * time.Minute

// NewDeduper returns the memory of the partition's writer, covering the
// hours that start after now (plus a clock margin).
func (s *Store) NewDeduper(partition int32, now time.Time) *Deduper {
	own := hourOf(now.Add(clockMargin))
	return &Deduper{s: s, partition: partition, filters: map[int64]*bloom{}, ownFrom: own, primeFrom: own + 1, keptFrom: own + 1}
}

func hourOf(t time.Time) int64 { return t.UTC().Truncate(time.Hour).Unix() }

// Prime reads back the eids the partition stored, for customers, in the
// hours an event received from `from` on would search, up to the current
// hour, so those hours are covered from the start. It gives up (covering
// nothing more) after limit rows, returning the rows read.
func (d *Deduper) Prime(ctx context.Context, customers []string, from time.Time, limit int) (int, error) {
	first := hourOf(from) - int64(d.s.o.LookbackHours-1)*3600
	filters := map[int64]*bloom{}
	rows := 0
	for _, c := range customers {
		for h := first; h <= d.ownFrom; h += 3600 {
			it := d.s.s.Query(`SELECT eid, kafka_partition FROM raw_events WHERE customer = ? AND hour = ?`, c, time.Unix(h, 0).UTC()).
				WithContext(ctx).Consistency(d.s.o.Consistency).PageSize(10000).Iter()
			var (
				eid string
				p   int32
			)
			for it.Scan(&eid, &p) {
				if rows++; rows > limit {
					it.Close()
					return rows, nil
				}
				if p != d.partition {
					continue
				}
				f := filters[h]
				if f == nil {
					f = &bloom{}
					filters[h] = f
				}
				f.add(eid)
			}
			if err := it.Close(); err != nil {
				return rows, fmt.Errorf("prime eids %s %s: %w", c, time.Unix(h, 0).UTC().Format(time.RFC3339), err)
			}
		}
	}
	for h, f := range filters {
		d.filters[h] = f
	}
	d.primeFrom, d.keptFrom = first, first
	d.primed = map[string]bool{}
	for _, c := range customers {
		d.primed[c] = true
	}
	d.stats.Primed = rows
	return rows, nil
}

// Insert is Store.Insert for this partition's records, using and growing
// the memory.
func (d *Deduper) Insert(ctx context.Context, recs []Record) ([]Outcome, error) {
	return d.s.insert(ctx, recs, d)
}

// Stats reports how eids were decided so far.
func (d *Deduper) Stats() DedupeStats { return d.stats }

func (d *Deduper) covered(customer string, h int64) bool {
	if h < d.keptFrom || h < d.primeFrom {
		return false
	}
	return h > d.ownFrom || d.primed[customer]
}

// surelyNew reports whether no hour r's lookup would search can hold r's
// eid.
func (d *Deduper) surelyNew(r *Record) bool {
	if r.Partition != d.partition {
		return false
	}
	h := r.Hour().Unix()
	for back := 0; back < d.s.o.LookbackHours; back++ {
		hh := h - int64(back)*3600
		if !d.covered(r.Event.Customer, hh) {
			return false
		}
		if f := d.filters[hh]; f != nil && f.mayContain(r.Event.EID) {
			return false
		}
	}
	return true
}

// learn adds the eids just written to their hour's filter and drops the
// filters no lookup will search again.
func (d *Deduper) learn(recs []Record, written []int, fromMemory, lookedUp int) {
	d.stats.FromMemory += fromMemory
	d.stats.LookedUp += lookedUp
	for _, i := range written {
		h := recs[i].Hour().Unix()
		f := d.filters[h]
		if f == nil {
			f = &bloom{}
			d.filters[h] = f
		}
		f.add(recs[i].Event.EID)
		if h > d.newest {
			d.newest = h
		}
	}
	keep := d.newest - int64(d.s.o.LookbackHours)*3600
	for h := range d.filters {
		if h < keep {
			delete(d.filters, h)
			d.keptFrom = max(d.keptFrom, h+3600)
		}
	}
}
