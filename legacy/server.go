package legacy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// PathQuery is where both systems' query APIs answer (query.PathQuery).
const PathQuery = query.PathQuery

// ServerOptions configure the query API.
type ServerOptions struct {
	Customers *pixel.Customers
	// Registerer, when set, gets the API's metrics (request counts and
	// durations come from the component runner's middleware).
	Registerer prometheus.Registerer
	// Timeout bounds one query (30 s when zero).
	Timeout time.Duration
	// Logger logs queries that fail on the server's side; nil discards.
	Logger *slog.Logger
}

// Server is System One's query API: POST /v1/query in Brooks' query
// language (query.Handler: the same decoding, customer check and error
// bodies as nextgen's), answered from a Store. `brooks legacy serve` mounts
// it on a component runner, which adds /metrics, /healthz and /readyz.
type Server struct {
	store   *Store
	handler *query.Handler

	latency  *prometheus.HistogramVec
	rejected *prometheus.CounterVec
}

// Mux is where Mount adds routes; *http.ServeMux and *component.Runner
// satisfy it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// NewServer returns the query API over store.
func NewServer(store *Store, opts ServerOptions) (*Server, error) {
	if opts.Customers == nil {
		return nil, errors.New("legacy server: no customer registry")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	s := &Server{
		store: store,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "query_seconds",
			Help:    "Query API latency of answered queries, by interval.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"interval"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "query_rejected_total",
			Help: "Queries answered with an error, by reason (invalid_query, unknown_customer, unsupported, unavailable, internal, ...).",
		}, []string{"reason"}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.latency, s.rejected)
	}
	h, err := query.NewHandler(query.AnswerFunc(s.answer), query.HandlerOptions{
		System: "legacy", Customers: opts.Customers, Timeout: opts.Timeout, Logger: opts.Logger,
		Rejected: func(code string) { s.rejected.WithLabelValues(code).Inc() },
	})
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// Mount adds POST /v1/query to m: any valid token may call it, and it
// answers only customers the token may read (query.Authorize).
func (s *Server) Mount(m Mux) { m.Handle(PathQuery, component.PerCustomer(s.handler)) }

// ServeHTTP serves /v1/query only (tests; the binary uses Mount).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != PathQuery {
		http.NotFound(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// answer asks the store; a store that fails is unavailable (503), a query
// beyond legacy's abilities unsupported (422).
func (s *Server) answer(ctx context.Context, q *query.Query) (*query.Answer, error) {
	start := time.Now()
	ans, err := s.store.Answer(ctx, q)
	if err != nil {
		var uns *query.UnsupportedError
		if errors.As(err, &uns) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &query.UnavailableError{Store: "legacy stores (Redis, MongoDB)", Err: err}
	}
	s.latency.WithLabelValues(q.Interval).Observe(time.Since(start).Seconds())
	return ans, nil
}
