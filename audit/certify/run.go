package certify

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RunOptions configure Run.
type RunOptions struct {
	Options
	Store *Store
	// Customers to certify.
	Customers []string
	// Since is how far back days are considered (whole UTC days from
	// Now-Since); Settle how long after its end a day is settled.
	Since, Settle time.Duration
	// Force certifies again days that have a clean certificate.
	Force  bool
	Logger *slog.Logger
}

// Issued is one customer-day Run looked at.
type Issued struct {
	Customer string `json:"customer"`
	Day      string `json:"day"`
	// Action: issued, skipped (a clean certificate exists), or failed (Error).
	Action  string `json:"action"`
	Verdict string `json:"verdict,omitempty"`
	Clean   bool   `json:"clean"`
	Digest  string `json:"digest,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Run certifies every settled customer-day of the period that has no
// clean certificate yet: a day without one, or whose certificate is not
// clean (a fault since repaired by a rebuild, a system that did not
// answer), is certified again; a clean one is kept. A failed day is
// reported and the others still done.
func Run(ctx context.Context, o RunOptions) ([]Issued, error) {
	now := o.Replay.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	o.Replay.Now = now
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out []Issued
	first := now.Add(-o.Since).Truncate(24 * time.Hour)
	for day := first; !day.Add(24 * time.Hour).Add(o.Settle).After(now); day = day.Add(24 * time.Hour) {
		for _, c := range o.Customers {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			is := Issued{Customer: c, Day: day.Format(DayLayout)}
			if !o.Force {
				_, clean, err := o.Store.Has(ctx, c, day)
				if err != nil {
					return out, err
				}
				if clean {
					is.Action = "skipped"
					out = append(out, is)
					continue
				}
			}
			cert, err := Issue(ctx, o.Options, c, day)
			if err == nil {
				err = o.Store.Save(ctx, cert)
			}
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				is.Action, is.Error = "failed", err.Error()
				log.Warn("certificate not issued", "customer", c, "day", is.Day, "err", err)
				out = append(out, is)
				continue
			}
			is.Action, is.Verdict, is.Clean, is.Digest = "issued", cert.Verdict, cert.Clean, cert.Digest
			log.Info("certificate issued", "customer", c, "day", is.Day, "verdict", cert.Verdict, "clean", cert.Clean, "digest", cert.Digest)
			out = append(out, is)
		}
	}
	if len(out) == 0 {
		return out, fmt.Errorf("no settled day in the last %s", o.Since)
	}
	return out, nil
}
