package engine

import (
	"context"
	"fmt"
	"sync"
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
	writing     bool  // in the flush under way: not evictable
	touched     time.Time
}

// table is a partition's documents in memory: a write-back cache of the
// partition's documents in Elasticsearch. A document not in memory is read
// back (realtime multi-get) before an event is applied to it, so the offset
// watermark stored in it decides what is already counted.
//
// Only the partition's goroutine changes the table; the ingest goroutine
// asks which documents are resident (has) to read the others ahead of
// time (fetch), and the partition installs them if no eviction happened
// in between (epoch).
type table struct {
	reg     *rollup.Registry
	es      *esindex.Client
	mu      sync.RWMutex // guards insertions into and deletions from entries
	entries map[rollup.Key]*entry
	epoch   int64 // evictions so far (under mu)
	dirty   int
}

func newTable(reg *rollup.Registry, es *esindex.Client) *table {
	return &table{reg: reg, es: es, entries: map[rollup.Key]*entry{}}
}

const mgetChunk = 1000

// has reports whether k is resident, and the eviction epoch; safe from any
// goroutine.
func (t *table) has(k rollup.Key) (bool, int64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.entries[k] != nil, t.epoch
}

// fetch reads the documents of keys from Elasticsearch (a missing document
// is an empty cell) without touching the table; safe from any goroutine.
func (t *table) fetch(ctx context.Context, keys []rollup.Key, now time.Time) (ens []*entry, found int, err error) {
	ens = make([]*entry, 0, len(keys))
	for lo := 0; lo < len(keys); lo += mgetChunk {
		chunk := keys[lo:min(lo+mgetChunk, len(keys))]
		refs := make([]esindex.DocRef, len(chunk))
		for i, k := range chunk {
			dims, err := t.reg.Values(k.Tuple)
			if err != nil {
				return nil, found, err
			}
			refs[i] = esindex.DocRef{Index: t.es.Names.KeyIndex(k), ID: esindex.DocID(t.reg, k, dims)}
		}
		got, err := t.es.MGet(ctx, refs)
		if err != nil {
			return nil, found, fmt.Errorf("load rollup docs: %w", err)
		}
		for i, k := range chunk {
			en := &entry{index: refs[i].Index, id: refs[i].ID, touched: now}
			if got[i].Found {
				c, err := esindex.DecodeDoc(t.reg, got[i].Source)
				if err != nil {
					return nil, found, fmt.Errorf("load rollup doc %s: %w", refs[i].ID, err)
				}
				if c.Key != k {
					return nil, found, fmt.Errorf("load rollup doc %s: stored key %+v is not %+v", refs[i].ID, c.Key, k)
				}
				en.cell, en.seqNo, en.term, en.exists = c, got[i].SeqNo, got[i].PrimaryTerm, true
				found++
			} else {
				en.cell = t.reg.NewCell(k)
			}
			ens = append(ens, en)
		}
	}
	return ens, found, nil
}

// install adds fetched entries whose key is not resident; fetched before
// an eviction (epoch differs), they may be stale and are dropped.
func (t *table) install(ens []*entry, epoch int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if epoch != t.epoch {
		return 0
	}
	n := 0
	for _, en := range ens {
		if t.entries[en.cell.Key] == nil {
			t.entries[en.cell.Key] = en
			n++
		}
	}
	return n
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

// evict drops clean documents untouched since before cutoff; a document
// whose write is under way stays (read back now, it could be older than
// what is being written).
func (t *table) evict(cutoff time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, en := range t.entries {
		if !en.dirty && !en.writing && en.touched.Before(cutoff) {
			delete(t.entries, k)
			n++
		}
	}
	if n > 0 {
		t.epoch++
	}
}
