package compare

import (
	"context"
	"slices"
	"sync"
	"time"
)

// runMatrix sends one synthetic query every Pace, cycling over the
// customers in shadow or live and, for each, over the matrix's shapes.
func (c *Comparer) runMatrix(ctx context.Context) {
	t := time.NewTicker(c.opts.Pace)
	defer t.Stop()
	next := map[string]int{} // customer → next shape index
	turn := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var active []string
		served := map[string]string{}
		for _, cust := range c.opts.Customers {
			st, err := c.opts.States.State(ctx, cust)
			if err != nil {
				c.log.Warn("matrix: cutover state", "customer", cust, "err", err)
				continue
			}
			if st.Compared() {
				active = append(active, cust)
				served[cust] = Legacy
				if st.ServedByNextgen() {
					served[cust] = Nextgen
				}
			}
		}
		if len(active) == 0 {
			continue
		}
		cust := active[turn%len(active)]
		turn++
		shape := c.matrix[next[cust]%len(c.matrix)]
		next[cust]++
		c.m.synthetic.WithLabelValues(cust).Inc()
		c.enqueue(Job{Query: shape.At(cust, c.opts.Now()), ServedBy: served[cust], Source: SourceMatrix, Shape: shape.ID, At: c.opts.Now()})
	}
}

// coverage remembers, per customer and shape, when the last settled
// comparison was, and the recent comparisons' outcomes.
type coverage struct {
	mu     sync.Mutex
	shapes []string
	window time.Duration
	last   map[string]map[string]time.Time
	recent map[string][]bool // last outcomes (true: matching), at most 1000
}

func newCoverage(shapes []string, window time.Duration) *coverage {
	return &coverage{shapes: shapes, window: window, last: map[string]map[string]time.Time{}, recent: map[string][]bool{}}
}

func (c *coverage) settled(customer, shape string, matching bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last[customer] == nil {
		c.last[customer] = map[string]time.Time{}
	}
	c.last[customer][shape] = now
	r := append(c.recent[customer], matching)
	if len(r) > 1000 {
		r = r[len(r)-1000:]
	}
	c.recent[customer] = r
}

// ratio is the covered share of the matrix at now.
func (c *coverage) ratio(customer string, now time.Time) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.shapes {
		if t, ok := c.last[customer][s]; ok && now.Sub(t) <= c.window {
			n++
		}
	}
	return float64(n) / float64(len(c.shapes))
}

// missing lists the matrix shapes without a settled comparison in the window.
func (c *coverage) missing(customer string, now time.Time) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.shapes {
		if t, ok := c.last[customer][s]; !ok || now.Sub(t) > c.window {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}

// matchRate is the share of the recent settled comparisons that matched.
func (c *coverage) matchRate(customer string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.recent[customer]
	if len(r) == 0 {
		return 1
	}
	n := 0
	for _, ok := range r {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(r))
}

// Missing lists a customer's matrix shapes without a recent settled comparison.
func (c *Comparer) Missing(customer string) []string { return c.cov.missing(customer, c.opts.Now()) }
