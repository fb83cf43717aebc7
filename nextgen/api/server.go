// Package api is nextgen's HTTP query API, served by `brooks nextgen
// serve`: the query language at POST /v1/query (the same path and JSON as
// legacy's API, so the routing proxy and query.Client speak to either),
// raw-event drill-down at GET /v1/raw, and /metrics, /healthz, /readyz.
//
// Errors are {"error": {"code": "...", "message": "..."}}: 400
// invalid_query or bad_request, 422 unsupported, 405 bad_request for a
// wrong method, 503 unavailable when a store fails, 500 internal.
//
// Usage:
//
//	eng, _ := queryengine.New(esClient, opts)
//	srv := api.New(eng, api.Options{Addr: "127.0.0.1:8082", Registry: obs.NewRegistry()})
//	srv.AddReadyCheck("elasticsearch", esClient.Ping)
//	err := srv.Run(ctx) // until ctx ends, then a graceful shutdown
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/nextgen/queryengine"
)

// DefaultAddr is where `brooks nextgen serve` listens by default.
const DefaultAddr = "127.0.0.1:8082"

// Options configure a Server.
type Options struct {
	// Addr is the listen address (DefaultAddr when empty).
	Addr string
	// Registry serves /metrics and holds the API's metrics (a new one with
	// Go and process collectors when nil).
	Registry *prometheus.Registry
	// Logger logs requests that fail on the server's side; nil discards.
	Logger *slog.Logger
	// ShutdownGrace bounds the graceful shutdown (default 10 s).
	ShutdownGrace time.Duration
	// MaxRawLimit caps /v1/raw's limit (default 100000); DefaultRawLimit
	// applies when the request names none (default 1000).
	MaxRawLimit, DefaultRawLimit int
}

// Server is the HTTP API over a query engine.
type Server struct {
	eng     *queryengine.Engine
	opts    Options
	log     *slog.Logger
	mux     *obs.Mux
	metrics *metrics
}

// New returns a server answering from eng.
func New(eng *queryengine.Engine, o Options) *Server {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Registry == nil {
		o.Registry = obs.NewRegistry()
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	if o.MaxRawLimit <= 0 {
		o.MaxRawLimit = 100000
	}
	if o.DefaultRawLimit <= 0 {
		o.DefaultRawLimit = 1000
	}
	s := &Server{eng: eng, opts: o, log: obs.OrDiscard(o.Logger), mux: obs.NewMux(o.Registry), metrics: newMetrics(o.Registry)}
	s.route("POST /v1/query", "query", s.query)
	s.route("/v1/query", "query", s.methodNotAllowed(http.MethodPost))
	s.route("GET /v1/raw", "raw", s.raw)
	s.route("/v1/raw", "raw", s.methodNotAllowed(http.MethodGet))
	return s
}

// AddReadyCheck makes /readyz depend on check (a store's ping).
func (s *Server) AddReadyCheck(name string, check func(context.Context) error) {
	s.mux.AddReadyCheck(name, check)
}

// Handler is the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Run serves on Options.Addr until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	return obs.Serve(ctx, s.log, s.opts.Addr, s.mux, s.opts.ShutdownGrace)
}

// Serve is Run on an open listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return obs.ServeListener(ctx, s.log, ln, s.mux, s.opts.ShutdownGrace)
}

// route registers h for pattern, counting requests and their duration.
func (s *Server) route(pattern, name string, h http.HandlerFunc) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		s.metrics.observe(name, rec.status, time.Since(start))
	}))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
