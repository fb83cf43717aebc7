package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// LedgerWriterPrefix names the engine in the ledger: the writer is
// LedgerWriterPrefix + group, the same for every process of the group, so
// that a partition's new owner overwrites what an earlier one recorded for
// the same offsets.
const LedgerWriterPrefix = "nextgen/"

// ledgerRec is one fresh record's contribution to the raw and rollup
// stages.
type ledgerRec struct {
	offset int64
	key    ledger.Key
	hash   uint64
	rollup bool // its customer is known: it is rolled up (into no cell if it counts nothing)
}

// partitionLedger ties the raw (Cassandra) and rollup stages of the
// ledger to the offsets the partition commits. Before an offset is marked
// durable, the tallies of every fresh record from the last committed
// offset K up to it are written as batch "{topic}/p{partition}/{K}" of
// both stages: cumulative since K, so a later flush before the commit
// lands rewrites the same rows, and a new owner replaying from K (after a
// crash or a lost commit) rewrites them again instead of adding to them.
// Rows are written for every customer and every hour around the records,
// zero where none, so a replay that ends earlier than the crashed owner's
// last write also clears the rows that write had for later records. The
// comparison (ledger.CompareWith) reads them as what they are: an hour
// where no stage has an event is left out, and a zero row in an hour where
// other stages have events is a shortfall like any other.
type partitionLedger struct {
	w      ledger.Writer
	writer string
	batch  string // prefix
	ids    []string
	recs   []ledgerRec // since the last committed offset, in offset order
}

func newPartitionLedger(e *Engine, p *partition) *partitionLedger {
	if e.o.Ledger == nil {
		return &partitionLedger{}
	}
	return &partitionLedger{
		w: e.o.Ledger, writer: LedgerWriterPrefix + e.o.Group,
		batch: fmt.Sprintf("%s/p%d/", e.o.Topic, p.id), ids: e.o.Customers.IDs(),
	}
}

// add keeps the tallies of an applied batch.
func (l *partitionLedger) add(recs []ledgerRec) {
	if l.w != nil {
		l.recs = append(l.recs, recs...)
	}
}

// record writes the rows of the records in [committed, upTo), where
// committed is the group's last committed offset for the partition.
func (l *partitionLedger) record(committed, upTo int64) error {
	if l.w == nil {
		return nil
	}
	drop := 0
	for drop < len(l.recs) && l.recs[drop].offset < committed {
		drop++
	}
	l.recs = l.recs[drop:]
	raw, rolled := tallies(l.recs, upTo, l.ids)
	if len(raw) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch := l.batch + fmt.Sprint(committed)
	if err := l.w.Record(ctx, ledger.StageRaw, l.writer, batch, raw); err != nil {
		return fmt.Errorf("record stage %s: %w", ledger.StageRaw, err)
	}
	if err := l.w.Record(ctx, ledger.StageRollup, l.writer, batch, rolled); err != nil {
		return fmt.Errorf("record stage %s: %w", ledger.StageRollup, err)
	}
	return nil
}

// tallies sums the records before upTo per (customer, hour) for the raw
// and rollup stages, with zero tallies for every customer in ids and every
// hour from one before the earliest record to one after the latest.
func tallies(recs []ledgerRec, upTo int64, ids []string) (raw, rolled map[ledger.Key]ledger.Tally) {
	raw, rolled = map[ledger.Key]ledger.Tally{}, map[ledger.Key]ledger.Tally{}
	var lo, hi time.Time
	for _, r := range recs {
		if r.offset >= upTo {
			break
		}
		if lo.IsZero() || r.key.Hour.Before(lo) {
			lo = r.key.Hour
		}
		if r.key.Hour.After(hi) {
			hi = r.key.Hour
		}
		t := raw[r.key]
		t.Merge(ledger.Tally{Count: 1, Hash: r.hash})
		raw[r.key] = t
		if r.rollup {
			t := rolled[r.key]
			t.Merge(ledger.Tally{Count: 1, Hash: r.hash})
			rolled[r.key] = t
		}
	}
	if lo.IsZero() {
		return raw, rolled
	}
	for _, c := range ids {
		for h := lo.Add(-time.Hour); !h.After(hi.Add(time.Hour)); h = h.Add(time.Hour) {
			k := ledger.Key{Customer: c, Hour: h}
			if _, ok := raw[k]; !ok {
				raw[k] = ledger.Tally{}
			}
			if _, ok := rolled[k]; !ok {
				rolled[k] = ledger.Tally{}
			}
		}
	}
	return raw, rolled
}
