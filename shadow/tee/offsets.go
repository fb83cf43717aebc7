package tee

import (
	"sync"
)

// offsets is a claim's commit bookkeeping: the offset the component said
// is durable (every record before it) and the last one committed to the
// group. Durable may be called from any goroutine; commits come from the
// partition's goroutine only.
type offsets struct {
	mu        sync.Mutex
	durable   int64 // -1: nothing durable yet
	committed int64 // -1: nothing committed (no group offset yet)
}

func newOffsets(committed int64) *offsets {
	if committed < 0 {
		committed = -1
	}
	return &offsets{durable: -1, committed: committed}
}

// markDurable records that every record before next is durable; an offset
// below one already marked is ignored (marks only move forward).
func (o *offsets) markDurable(next int64) {
	o.mu.Lock()
	if next > o.durable {
		o.durable = next
	}
	o.mu.Unlock()
}

// pending returns the offset to commit, if the durable mark is ahead of
// the last commit.
func (o *offsets) pending() (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.durable > o.committed {
		return o.durable, true
	}
	return 0, false
}

// done records a successful commit of off.
func (o *offsets) done(off int64) {
	o.mu.Lock()
	if off > o.committed {
		o.committed = off
	}
	o.mu.Unlock()
}

func (o *offsets) lastCommitted() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.committed
}

// lag is the records between the partition's end (high-water mark) and
// the committed offset; with nothing committed yet, from the partition's
// first offset. It is never negative.
func lag(highWater, first, committed int64) int64 {
	from := committed
	if from < 0 {
		from = first
	}
	if from < 0 || highWater <= from {
		return 0
	}
	return highWater - from
}
