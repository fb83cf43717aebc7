package tee

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with jitter: attempt n waits a
// random time in [d/2, d], d = min(Min·2ⁿ, Max). The jitter keeps the
// members of a group from retrying in step after a broker comes back.
type Backoff struct {
	Min, Max time.Duration
	// rand returns a float in [0, 1); nil uses math/rand/v2.
	rand func() float64
}

// DefaultBackoff is 100ms doubling to 5s.
func DefaultBackoff() Backoff { return Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second} }

// Delay is the wait before retry attempt n (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi < lo {
		hi = lo
	}
	d := hi
	if attempt < 30 {
		if s := lo << attempt; s > 0 && s < hi {
			d = s
		}
	}
	r := b.rand
	if r == nil {
		r = rand.Float64
	}
	return d/2 + time.Duration(r()*float64(d/2))
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
