package cutover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
)

// StateStore is the durable state the controller moves; *Store
// implements it.
type StateStore interface {
	Lister
	Get(ctx context.Context, customer string) (Record, error)
	Transition(ctx context.Context, cur Record, e Entry, auto bool) (Record, error)
	History(ctx context.Context, customer string) ([]Entry, error)
}

// Options configure a Controller.
type Options struct {
	Store StateStore
	Gates *Gates
	// Customers, when set, are the only customers moved (others: an error).
	Customers []string
	// Interval between automatic-rollback rounds (default 10 s).
	Interval time.Duration
	// RollbackWindow is the sliding window of settled comparisons judged
	// for a live customer (default 15 min), never reaching back before it
	// went live.
	RollbackWindow time.Duration
	// MaxMismatchRate and MaxErrorRate: a live customer whose settled
	// mismatching comparisons, or failed comparisons, exceed these shares
	// of the window goes back to shadow (defaults 1% and 5%) ...
	MaxMismatchRate, MaxErrorRate float64
	// ... once the window holds at least RollbackMinComparisons (default 10).
	RollbackMinComparisons int
	// HoldDown is the least time between two automatic moves of a customer
	// (default 30 min).
	HoldDown time.Duration
	// Registerer gets brooks_cutover_* metrics (a new registry when nil).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// DefaultOptions returns the documented defaults; Store and Gates must be
// filled in.
func DefaultOptions() Options {
	return Options{Interval: 10 * time.Second, RollbackWindow: 15 * time.Minute, MaxMismatchRate: 0.01, MaxErrorRate: 0.05,
		RollbackMinComparisons: 10, HoldDown: 30 * time.Minute}
}

// Controller moves customers between states: operators through Advance
// and Rollback, itself through Run's automatic rollbacks.
type Controller struct {
	o   Options
	log *slog.Logger
	m   *metrics
}

// New checks o and returns a controller.
func New(o Options) (*Controller, error) {
	if o.Store == nil || o.Gates == nil {
		return nil, errors.New("cutover: a store and gates are required")
	}
	d := DefaultOptions()
	if o.Interval <= 0 {
		o.Interval = d.Interval
	}
	if o.RollbackWindow <= 0 {
		o.RollbackWindow = d.RollbackWindow
	}
	if o.MaxMismatchRate <= 0 {
		o.MaxMismatchRate = d.MaxMismatchRate
	}
	if o.MaxErrorRate <= 0 {
		o.MaxErrorRate = d.MaxErrorRate
	}
	if o.RollbackMinComparisons <= 0 {
		o.RollbackMinComparisons = d.RollbackMinComparisons
	}
	if o.HoldDown < 0 {
		o.HoldDown = d.HoldDown
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return &Controller{o: o, log: obs.OrDiscard(o.Logger), m: newMetrics(o.Registerer)}, nil
}

// GateError is an advance refused by unmet gates; each names itself and
// its value.
type GateError struct {
	Customer string
	From, To State
	Failing  []Gate
}

func (e *GateError) Error() string {
	s := fmt.Sprintf("%s cannot advance %s → %s: %d gate(s) unmet:", e.Customer, e.From, e.To, len(e.Failing))
	for _, g := range e.Failing {
		s += "\n  " + g.String()
	}
	return s + "\n(--force --reason R overrides, recording these values)"
}

// ErrUnknownCustomer is returned for a customer outside Options.Customers.
var ErrUnknownCustomer = errors.New("unknown customer")

var errBadRequest = errors.New("bad request")

// Request is an operator's move.
type Request struct {
	Customer, Actor, Reason string
	// From, when set, is the state the operator expects: another one is a
	// *ConflictError without writing.
	From State
	// Force advances past unmet gates (their values are recorded).
	Force bool
}

func (c *Controller) check(r Request) error {
	switch {
	case r.Customer == "":
		return fmt.Errorf("%w: a customer is required", errBadRequest)
	case len(c.o.Customers) > 0 && !slices.Contains(c.o.Customers, r.Customer):
		return fmt.Errorf("%w %q", ErrUnknownCustomer, r.Customer)
	case r.Reason == "":
		return fmt.Errorf("%w: a reason is required (--reason)", errBadRequest)
	case r.From != "" && !r.From.Valid():
		return fmt.Errorf("%w: from: state %q is not one of %v", errBadRequest, r.From, States)
	}
	return nil
}

// Status is a customer's current state.
func (c *Controller) Status(ctx context.Context, customer string) (Record, error) {
	if len(c.o.Customers) > 0 && !slices.Contains(c.o.Customers, customer) {
		return Record{}, fmt.Errorf("%w %q", ErrUnknownCustomer, customer)
	}
	return c.o.Store.Get(ctx, customer)
}

// List is every known customer's state (Options.Customers, and any other
// with a stored state), sorted.
func (c *Controller) List(ctx context.Context) ([]Record, error) {
	rs, err := c.o.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Customer] = true
	}
	for _, id := range c.o.Customers {
		if !seen[id] {
			rs = append(rs, Record{Customer: id, State: Legacy})
		}
	}
	slices.SortFunc(rs, func(a, b Record) int { return cmpString(a.Customer, b.Customer) })
	return rs, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// History is a customer's transitions, oldest first.
func (c *Controller) History(ctx context.Context, customer string) ([]Entry, error) {
	return c.o.Store.History(ctx, customer)
}

// NextGates are the gates of the customer's next advance, as of now (none
// for complete).
func (c *Controller) NextGates(ctx context.Context, customer string) (Record, State, []Gate, error) {
	cur, err := c.Status(ctx, customer)
	if err != nil {
		return cur, "", nil, err
	}
	to, err := Apply(cur.State, Advance)
	if err != nil {
		return cur, "", nil, err
	}
	return cur, to, c.o.Gates.Evaluate(ctx, cur, to), nil
}

// Advance moves a customer one state forward if every gate passes (or
// Force). The history records the gate values.
func (c *Controller) Advance(ctx context.Context, r Request) (Record, []Gate, error) {
	if err := c.check(r); err != nil {
		return Record{}, nil, err
	}
	cur, err := c.o.Store.Get(ctx, r.Customer)
	if err != nil {
		return cur, nil, err
	}
	if r.From != "" && cur.State != r.From {
		return cur, nil, &ConflictError{Customer: r.Customer, Expected: cur.Version, ExpectedState: r.From, Current: cur}
	}
	to, err := Apply(cur.State, Advance)
	if err != nil {
		return cur, nil, err
	}
	gates := c.o.Gates.Evaluate(ctx, cur, to)
	failing := Failing(gates)
	if len(failing) > 0 && !r.Force {
		c.m.refused.WithLabelValues(string(to)).Inc()
		return cur, gates, &GateError{Customer: r.Customer, From: cur.State, To: to, Failing: failing}
	}
	next, err := c.o.Store.Transition(ctx, cur, Entry{To: to, Actor: r.Actor, Reason: r.Reason, Forced: len(failing) > 0, Evidence: gates}, false)
	if err != nil {
		return next, gates, err
	}
	c.m.transitions.WithLabelValues(string(cur.State), string(to), actorKind(r.Actor)).Inc()
	c.log.Info("cutover advanced", "customer", r.Customer, "from", cur.State, "to", to, "actor", r.Actor, "reason", r.Reason,
		"forced", len(failing) > 0, "version", next.Version)
	return next, gates, nil
}

// Rollback moves a customer one state back; there are no gates. The
// history records the gates of the state it leaves, as of now.
func (c *Controller) Rollback(ctx context.Context, r Request) (Record, error) {
	if err := c.check(r); err != nil {
		return Record{}, err
	}
	cur, err := c.o.Store.Get(ctx, r.Customer)
	if err != nil {
		return cur, err
	}
	if r.From != "" && cur.State != r.From {
		return cur, &ConflictError{Customer: r.Customer, Expected: cur.Version, ExpectedState: r.From, Current: cur}
	}
	to, err := Apply(cur.State, Rollback)
	if err != nil {
		return cur, err
	}
	gates := c.o.Gates.Evaluate(ctx, Record{Customer: cur.Customer, State: to, ChangedAt: cur.ChangedAt}, cur.State)
	next, err := c.o.Store.Transition(ctx, cur, Entry{To: to, Actor: r.Actor, Reason: r.Reason, Evidence: gates}, false)
	if err != nil {
		return next, err
	}
	c.m.transitions.WithLabelValues(string(cur.State), string(to), actorKind(r.Actor)).Inc()
	c.log.Info("cutover rolled back", "customer", r.Customer, "from", cur.State, "to", to, "actor", r.Actor, "reason", r.Reason, "version", next.Version)
	return next, nil
}

// ActorController is the actor of automatic moves.
const ActorController = "controller"

func actorKind(a string) string {
	if a == ActorController {
		return ActorController
	}
	return "operator"
}

// Run checks every live customer each Interval and rolls back those whose
// evidence crossed a limit, until ctx ends. Store failures are logged,
// counted and retried with capped exponential backoff and jitter.
func (c *Controller) Run(ctx context.Context) error {
	failures := 0
	for {
		wait := c.o.Interval
		if err := c.Round(ctx); err != nil && ctx.Err() == nil {
			failures++
			c.m.errors.Inc()
			wait = backoff(failures, c.o.Interval)
			c.log.Warn("cutover round failed, retrying", "err", err, "failures", failures, "retry_in", wait)
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// backoff is 200 ms doubling per failure, capped at max(interval, 5 s),
// with ±50% jitter.
func backoff(failures int, interval time.Duration) time.Duration {
	ceil := max(interval, 5*time.Second)
	d := 200 * time.Millisecond << min(failures-1, 10)
	d = min(d, ceil)
	return d/2 + rand.N(d)
}
