package bench

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Tick is one second of the run: what the collector had accepted and each
// consumer had been handed so far.
type Tick struct {
	// Seconds since the load started.
	Seconds  float64            `json:"t"`
	Accepted float64            `json:"accepted"`
	Records  map[string]float64 `json:"records"`
}

// timeline samples the collector's and the consumers' counters every
// interval until ctx ends.
type timeline struct {
	mu    sync.Mutex
	ticks []Tick
}

func (tl *timeline) run(ctx context.Context, st *stack, start time.Time, interval time.Duration) {
	collector := st.url(componentNamed("collector"))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		tick := Tick{Seconds: time.Since(start).Seconds(), Records: map[string]float64{}}
		if ms, err := scrape(ctx, collector, st.token); err == nil {
			tick.Accepted = ms.sum("brooks_collector_accepted_total", nil)
			if rs, err := consumerRecords(ctx, st); err == nil {
				tick.Records = rs
				tl.mu.Lock()
				tl.ticks = append(tl.ticks, tick)
				tl.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (tl *timeline) get() []Tick {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]Tick(nil), tl.ticks...)
}

// medianRate is the median per-interval rate of a counter over the ticks
// within [from, to] seconds: how fast it went most of the time, unlike the
// mean, which a slow start or a stall at the end pulls down.
func medianRate(ticks []Tick, value func(Tick) float64, from, to float64) float64 {
	var rates []float64
	for i := 1; i < len(ticks); i++ {
		a, b := ticks[i-1], ticks[i]
		if a.Seconds < from || b.Seconds > to || b.Seconds <= a.Seconds {
			continue
		}
		rates = append(rates, (value(b)-value(a))/(b.Seconds-a.Seconds))
	}
	if len(rates) == 0 {
		return 0
	}
	sort.Float64s(rates)
	return rates[len(rates)/2]
}
