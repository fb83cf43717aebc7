// Package ledger is Brooks' lineage ledger: every stage a pixel passes
// (collector, archive, Cassandra, rollups, legacy) records, per customer and
// UTC hour, how many events it saw and an order-independent hash of their
// event ids. Comparing stages side by side finds a lost or doubled event in
// seconds, and says where.
//
// The hash of a set of events is the sum, modulo 2^64, of xxhash64 of each
// event id: order does not matter, two stages that saw the same events agree,
// and unlike XOR a doubled event changes the hash.
package ledger

import (
	"sort"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Stages of the pipeline, in the order a pixel passes them.
const (
	StageCollector = "collector"
	StageArchive   = "archive"
	StageRaw       = "cassandra"
	StageRollup    = "rollup"
	StageLegacy    = "legacy"
)

// StageOrder lists known stages in pipeline order, for display.
var StageOrder = []string{StageCollector, StageArchive, StageRaw, StageRollup, StageLegacy}

// Key is the ledger's unit: one customer, one UTC hour.
type Key struct {
	Customer string
	Hour     time.Time
}

// KeyOf returns the key of an event received at t.
func KeyOf(customer string, t time.Time) Key {
	return Key{Customer: customer, Hour: t.UTC().Truncate(time.Hour)}
}

// Tally is a count of events and the order-free hash of their ids.
type Tally struct {
	Count int64  `json:"count"`
	Hash  uint64 `json:"hash"`
}

// HashEID is one event id's contribution to a Tally's hash.
func HashEID(eid string) uint64 { return xxhash.Sum64String(eid) }

// Add counts one event id.
func (t *Tally) Add(eid string) {
	t.Count++
	t.Hash += HashEID(eid)
}

// Merge adds another tally of disjoint events.
func (t *Tally) Merge(o Tally) {
	t.Count += o.Count
	t.Hash += o.Hash
}

// Accumulator gathers tallies in memory between flushes; it is safe for
// concurrent use.
type Accumulator struct {
	mu sync.Mutex
	m  map[Key]Tally
}

// NewAccumulator returns an empty accumulator.
func NewAccumulator() *Accumulator { return &Accumulator{m: map[Key]Tally{}} }

// Add counts an event of customer received at t.
func (a *Accumulator) Add(customer string, t time.Time, eid string) {
	k := KeyOf(customer, t)
	a.mu.Lock()
	tl := a.m[k]
	tl.Add(eid)
	a.m[k] = tl
	a.mu.Unlock()
}

// Drain returns what was gathered and empties the accumulator.
func (a *Accumulator) Drain() map[Key]Tally {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.m
	a.m = map[Key]Tally{}
	return m
}

// Restore puts back tallies a failed flush could not record.
func (a *Accumulator) Restore(m map[Key]Tally) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, t := range m {
		cur := a.m[k]
		cur.Merge(t)
		a.m[k] = cur
	}
}

// SortedKeys returns the keys of m by customer, then hour.
func SortedKeys(m map[Key]Tally) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Customer != keys[j].Customer {
			return keys[i].Customer < keys[j].Customer
		}
		return keys[i].Hour.Before(keys[j].Hour)
	})
	return keys
}
