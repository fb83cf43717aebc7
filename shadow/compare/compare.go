// Package compare is the shadow comparer: it asks the system that does not
// serve a customer the same question as the one that does, and compares
// the two answers with package diff (normalised answers, per-metric
// tolerances, the settle window, expected-difference rules with hit
// counts). Legacy is always diff's left side and nextgen its right, so
// rules read the same whoever serves.
//
// Work arrives three ways, all through one bounded queue served by a fixed
// pool of workers:
//
//   - Offer: answers the routing proxy served (sampled per customer;
//     dropped and counted by reason when the queue is full: never blocking
//     the proxy);
//   - the matrix scheduler: for every customer in shadow or live, the
//     query shapes of Matrix at a configured pace, so evidence does not wait
//     for dashboards;
//   - rechecks: a comparison with buckets not yet settled is asked again
//     (both systems) once they have settled, from a delayed queue.
//
// Every comparison is written to the evidence store (package evidence) and
// counted in Prometheus (namespace brooks, subsystem compare).
//
// Usage:
//
//	c, err := compare.New(compare.Options{Legacy: query.NewClient(legacyURL), Nextgen: query.NewClient(nextgenURL),
//		States: states, Customers: ids, Store: store, Rules: cfg.Rules, Tolerances: cfg.Tolerances, Registerer: reg})
//	go c.Run(ctx)
//	c.Offer(compare.Job{...}) // from the proxy
package compare

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// Asker answers queries: a query.Client of legacy or nextgen.
type Asker interface {
	Do(ctx context.Context, q *query.Query) (*query.Answer, error)
}

// StateSource says which cutover state a customer is in.
type StateSource interface {
	State(ctx context.Context, customer string) (cutover.State, error)
}

// EvidenceStore keeps comparisons; *evidence.Store implements it.
type EvidenceStore interface {
	Record(ctx context.Context, c *evidence.Comparison) error
}

// Options configure a Comparer.
type Options struct {
	Legacy, Nextgen Asker
	// States and Customers drive the matrix scheduler: every customer of
	// Customers whose state is shadow or live.
	States    StateSource
	Customers []string
	// Store gets every comparison; nil keeps only metrics.
	Store EvidenceStore
	// Rules and Tolerances are diff's (the rules file).
	Rules      []diff.Rule
	Tolerances map[string]Tolerance
	// SettleDelay is diff's: a bucket is compared once its end plus the
	// delay has passed (default diff.DefaultSettleDelay).
	SettleDelay time.Duration
	// SampleCap is the samples kept in the evidence per class (default 10).
	SampleCap int
	// QueueSize bounds the comparison queue (default 1000); Workers is
	// the number of comparisons in flight (default 2).
	QueueSize, Workers int
	// Sampling is the fraction of served answers compared, per customer;
	// customers not listed get DefaultSampling (default 1: every answer).
	Sampling        map[string]float64
	DefaultSampling float64
	// Pace is the interval between two synthetic matrix queries (default
	// 2 s); a negative Pace turns the scheduler off.
	Pace time.Duration
	// CoverageWindow is how recent a settled comparison must be to cover
	// its shape (default 24 h).
	CoverageWindow time.Duration
	// Timeout bounds one system's answer to a comparison query (30 s).
	Timeout time.Duration
	// MaxRechecks bounds how often one window is asked again (default 3);
	// MaxDelayed bounds the delayed queue (default 10000).
	MaxRechecks, MaxDelayed int
	// RecheckPoll is how often the delayed queue is looked at (1 s).
	RecheckPoll time.Duration
	// Now is the wall clock: windows of matrix queries, evidence times.
	// SettleNow is the clock diff settles buckets by (default Now); tests
	// move it ahead to settle buckets without waiting.
	Now, SettleNow func() time.Time
	// StoreRetries is how often a failed evidence write is retried, with
	// capped backoff and jitter, before it is dropped and counted (3).
	StoreRetries int
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
}

// Tolerance is diff's per-metric tolerance.
type Tolerance = diff.Tolerance

// DefaultOptions returns the defaults; Legacy, Nextgen and States must be
// set.
func DefaultOptions() Options {
	return Options{SettleDelay: diff.DefaultSettleDelay, SampleCap: 10, QueueSize: 1000, Workers: 2, DefaultSampling: 1,
		Pace: 2 * time.Second, CoverageWindow: 24 * time.Hour, Timeout: 30 * time.Second, MaxRechecks: 3, MaxDelayed: 10000,
		RecheckPoll: time.Second, Now: time.Now, StoreRetries: 3}
}

// Comparer runs comparisons.
type Comparer struct {
	opts    Options
	log     *slog.Logger
	m       *metrics
	queue   chan Job
	delayed *delayedQueue
	cov     *coverage
	matrix  []matrix.Shape

	mu      sync.Mutex
	stopped bool
}

// New checks o and returns a comparer; Run starts it.
func New(o Options) (*Comparer, error) {
	d := DefaultOptions()
	if o.Legacy == nil || o.Nextgen == nil {
		return nil, errors.New("compare: both systems' clients are required")
	}
	if o.Pace >= 0 && o.States == nil {
		return nil, errors.New("compare: the matrix scheduler needs a state source (or a negative Pace)")
	}
	if o.SettleDelay == 0 {
		o.SettleDelay = d.SettleDelay
	}
	if o.SettleDelay < 0 {
		o.SettleDelay = 0
	}
	if o.SampleCap <= 0 {
		o.SampleCap = d.SampleCap
	}
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.DefaultSampling == 0 && o.Sampling == nil {
		o.DefaultSampling = d.DefaultSampling
	}
	if o.Pace == 0 {
		o.Pace = d.Pace
	}
	if o.CoverageWindow <= 0 {
		o.CoverageWindow = d.CoverageWindow
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxRechecks <= 0 {
		o.MaxRechecks = d.MaxRechecks
	}
	if o.MaxDelayed <= 0 {
		o.MaxDelayed = d.MaxDelayed
	}
	if o.RecheckPoll <= 0 {
		o.RecheckPoll = d.RecheckPoll
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.SettleNow == nil {
		o.SettleNow = o.Now
	}
	if o.StoreRetries <= 0 {
		o.StoreRetries = d.StoreRetries
	}
	c := &Comparer{opts: o, log: obs.OrDiscard(o.Logger), m: newMetrics(o.Registerer), queue: make(chan Job, o.QueueSize),
		delayed: newDelayedQueue(o.MaxDelayed), matrix: matrix.Synthetic()}
	c.cov = newCoverage(matrix.SyntheticIDs(), o.CoverageWindow)
	return c, nil
}

// Offer hands a served answer to the comparer. It never blocks: the job is
// sampled out, queued, or dropped (counted by reason). It reports whether
// the job was queued.
func (c *Comparer) Offer(j Job) bool {
	if j.Query == nil {
		c.m.dropped.WithLabelValues("unknown", "no_query").Inc()
		return false
	}
	cust := j.Query.Customer
	rate := c.opts.DefaultSampling
	if r, ok := c.opts.Sampling[cust]; ok {
		rate = r
	}
	if rate < 1 && rand.Float64() >= rate {
		c.m.dropped.WithLabelValues(cust, "sampled_out").Inc()
		return false
	}
	if j.Source == "" {
		j.Source = SourceProxy
	}
	return c.enqueue(j)
}

func (c *Comparer) enqueue(j Job) bool {
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		c.m.dropped.WithLabelValues(j.Query.Customer, "stopped").Inc()
		return false
	}
	select {
	case c.queue <- j:
		c.m.queueDepth.Set(float64(len(c.queue)))
		return true
	default:
		c.m.dropped.WithLabelValues(j.Query.Customer, "queue_full").Inc()
		return false
	}
}

// Run works until ctx ends: the workers, the delayed re-checks and the
// matrix scheduler. Queued comparisons are abandoned at the end (they are
// evidence, not data).
func (c *Comparer) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for range c.opts.Workers {
		g.Go(func() error {
			for {
				select {
				case <-gctx.Done():
					return nil
				case j := <-c.queue:
					c.m.queueDepth.Set(float64(len(c.queue)))
					c.compare(gctx, j)
				}
			}
		})
	}
	g.Go(func() error { c.runDelayed(gctx); return nil })
	if c.opts.Pace > 0 {
		g.Go(func() error { c.runMatrix(gctx); return nil })
	}
	err := g.Wait()
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	return err
}

// Coverage returns a customer's coverage now: shapes of the matrix with a
// settled comparison within CoverageWindow / shapes in the matrix.
func (c *Comparer) Coverage(customer string) float64 { return c.cov.ratio(customer, c.opts.Now()) }
