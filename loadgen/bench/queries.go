package bench

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// queryRange is a range the standard shapes are asked over.
type queryRange struct {
	Name     string
	From, To time.Time
}

// queryRanges are the last hour on the 5-minute clock (the real-time
// dashboard) and the current UTC day (5m, 1d and total intervals).
func queryRanges(now time.Time) []queryRange {
	to := now.UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
	day := now.UTC().Truncate(24 * time.Hour)
	return []queryRange{
		{Name: "last hour", From: to.Add(-time.Hour), To: to},
		{Name: "today", From: day, To: day.Add(24 * time.Hour)},
	}
}

// benchQueries asks every system each standard shape over each range reps
// times, in turn (one query in flight), and returns the latencies.
func benchQueries(ctx context.Context, systems map[string]*query.Client, now time.Time, reps int) []QueryFigure {
	var out []QueryFigure
	names := make([]string, 0, len(systems))
	for n := range systems {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, r := range queryRanges(now) {
		for _, shape := range matrix.Standard(r.From, r.To) {
			for _, sys := range names {
				c := systems[sys]
				fig := QueryFigure{System: sys, Range: r.Name, Shape: shape.Name()}
				var ds []time.Duration
				for i := 0; i < reps && ctx.Err() == nil; i++ {
					t0 := time.Now()
					_, err := c.Do(ctx, shape.Query(probeCustomer, r.From, r.To))
					d := time.Since(t0)
					var ae *query.APIError
					switch {
					case errors.As(err, &ae) && ae.Status == 422:
						fig.Unsupported = true
					case err != nil:
						fig.Errors++
					default:
						ds = append(ds, d)
					}
					if fig.Unsupported {
						break
					}
				}
				fig.N = len(ds)
				fig.P50, fig.P99 = ms(percentile(ds, 0.50)), ms(percentile(ds, 0.99))
				out = append(out, fig)
			}
		}
	}
	return out
}

// percentile is the nearest-rank q-quantile of ds (0 when empty).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
