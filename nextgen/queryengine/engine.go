package queryengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// ServedBy is the answers' served_by.
const ServedBy = "nextgen"

// Options configure an Engine.
type Options struct {
	// Customers, when set, rejects queries for unknown customers
	// (*query.UnknownCustomerError: 400 unknown_customer).
	Customers *pixel.Customers
	// Raw reads raw events for drill-down; nil disables it.
	Raw RawReader
	// PageSize is the composite aggregation page size (default 10000,
	// under Elasticsearch's 65536 buckets per search); pages with distinct
	// metrics are smaller, so that their sketches stay in budget (see
	// sketchBudget). Every page runs the search again.
	PageSize int
	// PrecisionThreshold is the cardinality aggregations' precision
	// threshold (1 to 40000; default 3000): distinct counts up to it are
	// near-exact, above it HyperLogLog with 1.04/sqrt(2^p) relative
	// standard error (see approx.go). Higher costs time on long series.
	PrecisionThreshold int
	// MaxPoints caps an answer's points (series × buckets); a query that
	// would exceed it is rejected (422) rather than truncated.
	MaxPoints int
	// Timeout bounds one query's time in Elasticsearch.
	Timeout time.Duration
	// NoRequestCache turns off Elasticsearch's shard request cache (which
	// keeps aggregation results until the next refresh); benchmarks use it
	// to measure the searches themselves.
	NoRequestCache bool
	// Now is the clock for retention (default time.Now).
	Now func() time.Time
	// Logger gets debug lines per query; nil discards.
	Logger *slog.Logger
	// Registerer registers the engine's metrics when non-nil.
	Registerer prometheus.Registerer
}

// DefaultOptions returns options with every default set.
func DefaultOptions() Options {
	return Options{
		PageSize:           10000,
		PrecisionThreshold: DefaultPrecisionThreshold,
		MaxPoints:          500000,
		Timeout:            30 * time.Second,
		Now:                time.Now,
	}
}

// Engine answers queries of the language from the Elasticsearch rollups
// and drill-downs from the raw store. It is safe for concurrent use.
type Engine struct {
	es      *elasticsearch.Client
	names   esindex.Names
	opts    Options
	log     *slog.Logger
	metrics *metrics
}

// New returns an engine reading the rollups of es (its client and index
// names, from esindex.Open).
func New(es *esindex.Client, opts Options) (*Engine, error) {
	if es == nil || es.ES == nil {
		return nil, errors.New("queryengine: no elasticsearch client")
	}
	d := DefaultOptions()
	if opts.PageSize <= 0 {
		opts.PageSize = d.PageSize
	}
	switch {
	case opts.PrecisionThreshold == 0:
		opts.PrecisionThreshold = d.PrecisionThreshold
	case opts.PrecisionThreshold < 0 || opts.PrecisionThreshold > MaxPrecisionThreshold:
		return nil, fmt.Errorf("queryengine: precision threshold %d: want 1 to %d", opts.PrecisionThreshold, MaxPrecisionThreshold)
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = d.MaxPoints
	}
	if opts.Timeout <= 0 {
		opts.Timeout = d.Timeout
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	return &Engine{es: es.ES, names: es.Names, opts: opts, log: obs.OrDiscard(opts.Logger), metrics: newMetrics(opts.Registerer)}, nil
}

// BackendError is a failure of a store (Elasticsearch, Cassandra) rather
// than of the query: the HTTP API answers 503.
type BackendError struct {
	Store string
	Err   error
}

func (e *BackendError) Error() string { return fmt.Sprintf("%s: %v", e.Store, e.Err) }
func (e *BackendError) Unwrap() error { return e.Err }

// Execute answers q. Errors are *query.InvalidError (400),
// *query.UnsupportedError (422), *BackendError (503) or internal.
func (e *Engine) Execute(ctx context.Context, q query.Query) (*query.Answer, error) {
	start := time.Now()
	a, err := e.execute(ctx, &q)
	e.metrics.observe(q.Interval, err, time.Since(start))
	if err != nil {
		return nil, err
	}
	e.log.Debug("query", "customer", q.Customer, "interval", q.Interval, "metrics", q.Metrics,
		"group_by", q.GroupBy, "series", len(a.Series), "took", time.Since(start))
	return a, nil
}

func (e *Engine) execute(ctx context.Context, q *query.Query) (*query.Answer, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if e.opts.Customers != nil {
		if err := query.CheckCustomer(e.opts.Customers, q.Customer, "nextgen"); err != nil {
			return nil, err
		}
	}
	p, err := planQuery(q, e.opts.Now(), e.names)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	req := request{
		customer: q.Customer, plan: p, filters: q.Filters, dims: q.GroupBy,
		withTime: p.histogram != "", metrics: q.Metrics, pageSize: e.opts.PageSize, threshold: e.opts.PrecisionThreshold,
	}
	var series []query.Series
	exact := false // distinct metrics counted exactly (site documents)
	if siteAnswerable(q) {
		sreq := req
		sreq.site = true
		g, err := e.collect(ctx, sreq)
		switch {
		case err == nil:
			series, exact = g.answerSeries(nil, q.From), true
			e.metrics.documents.WithLabelValues("site").Inc()
		case errors.Is(err, errSplitSite):
			e.metrics.siteFallbacks.Inc()
			e.log.Debug("site documents split across partitions; reading tuple documents", "customer", q.Customer)
		default:
			return nil, err
		}
	}
	switch {
	case exact:
	case q.OrderBy != "" && len(q.GroupBy) > 0:
		e.metrics.documents.WithLabelValues("tuple").Inc()
		series, err = e.topN(ctx, q, req)
	default:
		e.metrics.documents.WithLabelValues("tuple").Inc()
		var g *grid
		g, err = e.collect(ctx, req)
		if g != nil {
			series = g.answerSeries(nil, q.From)
		}
	}
	if err != nil {
		return nil, err
	}
	qq := *q
	a := &query.Answer{ServedBy: ServedBy, Query: &qq, Series: series}
	if !exact {
		a.Approximate = approximations(q.Metrics, series, e.opts.PrecisionThreshold)
	}
	return a, nil
}

// topN ranks the series by the order_by metric's total over the range,
// keeps the first limit, then reads their points: two searches, or one for
// interval total.
func (e *Engine) topN(ctx context.Context, q *query.Query, req request) ([]query.Series, error) {
	totals := req
	totals.withTime = false
	if req.withTime {
		totals.metrics = rankMetrics(q)
	}
	g, err := e.collect(ctx, totals)
	if err != nil {
		return nil, err
	}
	keys := g.rank(q.OrderBy, q.Limit)
	if !req.withTime {
		return g.answerSeries(keys, q.From), nil
	}
	if len(keys) == 0 {
		return []query.Series{}, nil
	}
	if len(keys) < len(g.series) {
		req.restrict = g.restriction(keys, q.GroupBy)
	}
	pg, err := e.collect(ctx, req)
	if err != nil {
		return nil, err
	}
	return pg.answerSeries(keys, q.From), nil
}

// rankMetrics are the totals a ranking pass needs: the order_by metric, to
// rank, and enough to tell which series have any data: the query's
// additive metrics, and page views standing in for its distinct metrics
// (they count visitors among page views, and every page view has a visitor
// id: the collector sets nuid). Distinct counts over the whole range are
// the expensive part of a ranking, so only the order_by one is computed.
func rankMetrics(q *query.Query) []string {
	order := strings.TrimPrefix(q.OrderBy, "-")
	out := []string{order}
	for _, m := range q.Metrics {
		switch {
		case m == order:
		case !isDistinct(m):
			out = append(out, m)
		case !slices.Contains(out, query.Pageviews):
			out = append(out, query.Pageviews)
		}
	}
	return out
}
