package legacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// PathQuery is where both systems' query APIs answer.
const PathQuery = "/v1/query"

// ServerOptions configure the query API.
type ServerOptions struct {
	Customers *pixel.Customers
	// Registry gets the API's metrics and is served on /metrics (a new one
	// when nil).
	Registry *prometheus.Registry
	// Timeout bounds one query (30 s when zero).
	Timeout time.Duration
	Log     *slog.Logger
}

// Server is System One's query API: POST /v1/query in Brooks' query
// language, answered from a Store, plus /metrics, /healthz and /readyz.
type Server struct {
	store *Store
	opts  ServerOptions
	log   *slog.Logger
	mux   *obs.Mux

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewServer returns the query API over store.
func NewServer(store *Store, opts ServerOptions) (*Server, error) {
	if opts.Customers == nil {
		return nil, errors.New("legacy server: no customer registry")
	}
	if opts.Registry == nil {
		opts.Registry = obs.NewRegistry()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	s := &Server{
		store: store, opts: opts, log: obs.OrDiscard(opts.Log),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_legacy_query_requests_total", Help: "Query API requests by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "brooks_legacy_query_seconds", Help: "Query API latency of answered queries, by interval.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"interval"}),
	}
	opts.Registry.MustRegister(s.requests, s.latency)
	s.mux = obs.NewMux(opts.Registry)
	s.mux.Handle("POST "+PathQuery, http.HandlerFunc(s.serveQuery))
	s.mux.AddReadyCheck("stores", store.Ping)
	return s, nil
}

// ServeHTTP serves the query API and the observability endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run serves on addr until ctx ends, then shuts down within grace.
func (s *Server) Run(ctx context.Context, addr string, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.RunListener(ctx, ln, grace)
}

// RunListener is Run on an open listener.
func (s *Server) RunListener(ctx context.Context, ln net.Listener, grace time.Duration) error {
	return obs.ServeListener(ctx, s.log, ln, s, grace)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) serveQuery(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
	defer func() { s.requests.WithLabelValues(strconv.Itoa(w.code)).Inc() }()
	q, err := query.Decode(r.Body)
	if err != nil {
		query.WriteQueryError(w, err)
		return
	}
	if _, err := s.opts.Customers.Get(q.Customer); err != nil {
		query.WriteError(w, http.StatusNotFound, query.CodeNotFound, fmt.Sprintf("customer %q is not known to legacy (check customers_file)", q.Customer))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	ans, err := s.store.Answer(ctx, q)
	if err != nil {
		var uns *query.UnsupportedError
		if !errors.As(err, &uns) {
			s.log.Error("legacy query failed", "err", err, "customer", q.Customer, "interval", q.Interval)
			query.WriteError(w, http.StatusServiceUnavailable, query.CodeUnavailable, "legacy stores did not answer: "+err.Error())
			return
		}
		query.WriteQueryError(w, err)
		return
	}
	s.latency.WithLabelValues(q.Interval).Observe(time.Since(start).Seconds())
	query.WriteAnswer(w, ans)
}
