package compare

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/brooksdata/brooks/query"
)

// delayedQueue holds re-checks until their buckets have settled, ordered by
// due time (on the settle clock).
type delayedQueue struct {
	mu   sync.Mutex
	max  int
	jobs delayedHeap
}

type delayed struct {
	due time.Time
	job Job
}

type delayedHeap []delayed

func (h delayedHeap) Len() int           { return len(h) }
func (h delayedHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h delayedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayedHeap) Push(x any)        { *h = append(*h, x.(delayed)) }
func (h *delayedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newDelayedQueue(max int) *delayedQueue { return &delayedQueue{max: max} }

func (d *delayedQueue) push(due time.Time, j Job) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.jobs) >= d.max {
		return false
	}
	heap.Push(&d.jobs, delayed{due, j})
	return true
}

// pop returns the earliest job due at now.
func (d *delayedQueue) pop(now time.Time) (Job, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.jobs) == 0 || d.jobs[0].due.After(now) {
		return Job{}, false
	}
	return heap.Pop(&d.jobs).(delayed).job, true
}

func (d *delayedQueue) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.jobs)
}

// scheduleRecheck puts the job's window back, to be asked of both systems
// again once every bucket that can hold data has settled: the end of the
// bucket holding now (or the window's end, if earlier) plus the settle
// delay, on the settle clock.
func (c *Comparer) scheduleRecheck(j Job, served string) {
	cust := j.Query.Customer
	if j.Rechecks >= c.opts.MaxRechecks {
		c.m.dropped.WithLabelValues(cust, "recheck_limit").Inc()
		return
	}
	now := c.opts.SettleNow().UTC()
	end := j.Query.To
	if step := query.Step(j.Query.Interval); step > 0 {
		if b := now.Truncate(step).Add(step); b.Before(end) {
			end = b
		}
	}
	due := end.Add(c.opts.SettleDelay)
	if !due.After(now) {
		due = now.Add(c.opts.RecheckPoll)
	}
	next := Job{Query: j.Query, ServedBy: served, Source: SourceRecheck, Shape: j.Shape, Rechecks: j.Rechecks + 1}
	if !c.delayed.push(due, next) {
		c.m.dropped.WithLabelValues(cust, "recheck_full").Inc()
		return
	}
	c.m.rechecks.WithLabelValues(cust).Inc()
	c.m.delayedDepth.Set(float64(c.delayed.len()))
}

// runDelayed moves due re-checks to the queue. A re-check that finds the
// queue full waits for the next poll instead of being dropped.
func (c *Comparer) runDelayed(ctx context.Context) {
	t := time.NewTicker(c.opts.RecheckPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			j, ok := c.delayed.pop(c.opts.SettleNow())
			if !ok {
				break
			}
			select {
			case c.queue <- j:
				c.m.queueDepth.Set(float64(len(c.queue)))
				continue
			default:
			}
			c.delayed.push(c.opts.SettleNow(), j) // full: try at the next poll
			break
		}
		c.m.delayedDepth.Set(float64(c.delayed.len()))
	}
}
