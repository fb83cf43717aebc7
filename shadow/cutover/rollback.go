package cutover

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Round checks every live customer once and rolls back those whose
// settled evidence since max(now − RollbackWindow, when it went live)
// crossed MaxMismatchRate or MaxErrorRate, unless an automatic move of the
// customer happened less than HoldDown ago.
func (c *Controller) Round(ctx context.Context) error {
	rs, err := c.o.Store.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if r.State != Live {
			continue
		}
		if err := c.judgeLive(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Customer, err))
		}
	}
	return errors.Join(errs...)
}

// RollbackEvidence are the gate-like values an automatic rollback judges.
func (c *Controller) RollbackEvidence(ctx context.Context, r Record) ([]Gate, bool, error) {
	now := c.o.Gates.now()
	since := now.Add(-c.o.RollbackWindow)
	if r.ChangedAt.After(since) {
		since = r.ChangedAt
	}
	if c.o.Gates.Evidence == nil {
		return nil, false, errors.New("no shadow evidence store configured")
	}
	s, err := c.o.Gates.Evidence.Summary(ctx, r.Customer, since, now)
	if err != nil {
		return nil, false, err
	}
	window := fmt.Sprintf("since %s", since.Format(time.RFC3339))
	mis, errRate := 0.0, 0.0
	if s.Settled > 0 {
		mis = float64(s.Settled-s.Matching) / float64(s.Settled)
	}
	if s.Comparisons > 0 {
		errRate = float64(s.Errors) / float64(s.Comparisons)
	}
	gs := []Gate{
		{Name: "mismatch_rate", Value: fmt.Sprintf("%.4f", mis), Threshold: fmt.Sprintf("<= %g", c.o.MaxMismatchRate), Pass: mis <= c.o.MaxMismatchRate,
			Detail: fmt.Sprintf("%d of %d settled comparisons mismatching %s; %d open mismatches", s.Settled-s.Matching, s.Settled, window, s.OpenCount)},
		{Name: "error_rate", Value: fmt.Sprintf("%.4f", errRate), Threshold: fmt.Sprintf("<= %g", c.o.MaxErrorRate), Pass: errRate <= c.o.MaxErrorRate,
			Detail: fmt.Sprintf("%d of %d comparisons failed %s", s.Errors, s.Comparisons, window)},
	}
	enough := s.Settled >= c.o.RollbackMinComparisons || s.Comparisons >= c.o.RollbackMinComparisons
	if !enough {
		for i := range gs {
			gs[i].Detail += fmt.Sprintf(" (fewer than %d comparisons: not judged)", c.o.RollbackMinComparisons)
			gs[i].Pass = true
		}
	}
	return gs, len(Failing(gs)) > 0, nil
}

func (c *Controller) judgeLive(ctx context.Context, r Record) error {
	gs, crossed, err := c.RollbackEvidence(ctx, r)
	if err != nil || !crossed {
		return err
	}
	now := c.o.Gates.now()
	if !r.AutoAt.IsZero() && now.Sub(r.AutoAt) < c.o.HoldDown {
		c.m.held.Inc()
		c.log.Info("cutover: live customer crossed a rollback limit, held down", "customer", r.Customer,
			"last_auto_move", r.AutoAt, "hold_down", c.o.HoldDown)
		return nil
	}
	failing := Failing(gs)
	reason := "automatic rollback: " + failing[0].Name + " " + failing[0].Value + " above " + failing[0].Threshold
	next, err := c.o.Store.Transition(ctx, r, Entry{To: Shadow, Actor: ActorController, Reason: reason, Evidence: gs}, true)
	var ce *ConflictError
	if errors.As(err, &ce) {
		c.log.Info("cutover: automatic rollback lost to a concurrent change", "customer", r.Customer, "now", ce.Current.State)
		return nil
	}
	if err != nil {
		return err
	}
	c.m.autoRollbacks.WithLabelValues(failing[0].Name).Inc()
	c.m.transitions.WithLabelValues(string(Live), string(Shadow), ActorController).Inc()
	c.log.Warn("cutover: automatic rollback", "customer", r.Customer, "from", Live, "to", Shadow, "reason", reason,
		"gate", failing[0].Name, "value", failing[0].Value, "threshold", failing[0].Threshold, "detail", failing[0].Detail, "version", next.Version)
	return nil
}
