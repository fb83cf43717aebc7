package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
)

// entry is one rollup document held in memory by its partition's writer.
type entry struct {
	cell      *rollup.Cell
	index, id string
	// Concurrency token of the stored document: every write is conditional
	// on it, so a writer that lost the partition cannot overwrite a newer
	// document (term 0: unknown).
	seqNo, term int64
	exists      bool  // stored in Elasticsearch (else the next write creates it)
	dirty       bool  // changed since the last write was snapshotted
	firstDirty  int64 // offset of the first record applied since then
	touched     time.Time
}

// table is a partition's documents in memory: a write-back cache of the
// partition's documents in Elasticsearch. A document not in memory is read
// back (realtime multi-get) before an event is applied to it, so the offset
// watermark stored in it decides what is already counted.
type table struct {
	reg     *rollup.Registry
	es      *esindex.Client
	entries map[rollup.Key]*entry
	dirty   int
}

func newTable(reg *rollup.Registry, es *esindex.Client) *table {
	return &table{reg: reg, es: es, entries: map[rollup.Key]*entry{}}
}

const mgetChunk = 1000

// load reads the documents of keys (not in memory) from Elasticsearch into
// the table; a missing document becomes an empty cell.
func (t *table) load(ctx context.Context, keys []rollup.Key, now time.Time) (found int, err error) {
	for lo := 0; lo < len(keys); lo += mgetChunk {
		chunk := keys[lo:min(lo+mgetChunk, len(keys))]
		refs := make([]esindex.DocRef, len(chunk))
		for i, k := range chunk {
			dims, err := t.reg.Values(k.Tuple)
			if err != nil {
				return found, err
			}
			refs[i] = esindex.DocRef{Index: t.es.Names.Index(k.Granularity, k.BucketStart()), ID: esindex.DocID(t.reg, k, dims)}
		}
		got, err := t.es.MGet(ctx, refs)
		if err != nil {
			return found, fmt.Errorf("load rollup docs: %w", err)
		}
		for i, k := range chunk {
			en := &entry{index: refs[i].Index, id: refs[i].ID, touched: now}
			if got[i].Found {
				c, err := esindex.DecodeDoc(t.reg, got[i].Source)
				if err != nil {
					return found, fmt.Errorf("load rollup doc %s: %w", refs[i].ID, err)
				}
				if c.Key != k {
					return found, fmt.Errorf("load rollup doc %s: stored key %+v is not %+v", refs[i].ID, c.Key, k)
				}
				en.cell, en.seqNo, en.term, en.exists = c, got[i].SeqNo, got[i].PrimaryTerm, true
				found++
			} else {
				en.cell = t.reg.NewCell(k)
			}
			t.entries[k] = en
		}
	}
	return found, nil
}

// markDirty records that en changed by the record at offset (or, for a
// write to redo, since offset).
func (t *table) markDirty(en *entry, offset int64) {
	if !en.dirty {
		en.dirty = true
		en.firstDirty = offset
		t.dirty++
	} else if offset < en.firstDirty {
		en.firstDirty = offset
	}
}

// evict drops clean documents untouched since before cutoff.
func (t *table) evict(cutoff time.Time) {
	for k, en := range t.entries {
		if !en.dirty && en.touched.Before(cutoff) {
			delete(t.entries, k)
		}
	}
}
