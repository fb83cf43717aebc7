// Package api is nextgen's HTTP query API, served by `brooks nextgen
// serve`: the query language at POST /v1/query (the same path and JSON as
// legacy's API, so the routing proxy and query.Client speak to either),
// raw-event drill-down at GET /v1/raw, and /metrics, /healthz, /readyz.
//
// /v1/query is query.Handler, shared with legacy. Errors are {"error":
// {"code": "...", "message": "..."}} (query.Classify): 400 invalid_query
// or unknown_customer, 422 unsupported, 405 bad_request for a wrong
// method, 503 unavailable when a store fails, 500 internal.
//
// Usage (the runner adds /metrics, /healthz, /readyz and the request
// metrics):
//
//	eng, _ := queryengine.New(esClient, opts)
//	run := component.New(component.Options{Name: "nextgen-serve", Subsystem: "nextgen_api", Addr: api.DefaultAddr})
//	srv, _ := api.New(eng, api.Options{Customers: customers, Registerer: run.Registry()})
//	srv.Mount(run)
//	run.AddReadyCheck("elasticsearch", esClient.Ping)
//	err := run.Run(ctx)
package api

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
)

// DefaultAddr is where `brooks nextgen serve` listens by default.
const DefaultAddr = "127.0.0.1:8082"

// PathRaw is the raw-event drill-down.
const PathRaw = "/v1/raw"

// Options configure a Server.
type Options struct {
	// Customers rejects queries for unknown customers (400
	// unknown_customer); nil leaves the check to the engine's own
	// Customers, which answers the same.
	Customers query.Customers
	// Registerer, when set, gets the API's metrics.
	Registerer prometheus.Registerer
	// Logger logs requests that fail on the server's side; nil discards.
	Logger *slog.Logger
	// MaxRawLimit caps /v1/raw's limit (default 100000); DefaultRawLimit
	// applies when the request names none (default 1000).
	MaxRawLimit, DefaultRawLimit int
}

// Server is the HTTP API over a query engine.
type Server struct {
	eng     *queryengine.Engine
	opts    Options
	log     *slog.Logger
	query   *query.Handler
	metrics *metrics
}

// Mux is where Mount adds routes; *http.ServeMux and *component.Runner
// satisfy it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// New returns a server answering from eng.
func New(eng *queryengine.Engine, o Options) (*Server, error) {
	if o.MaxRawLimit <= 0 {
		o.MaxRawLimit = 100000
	}
	if o.DefaultRawLimit <= 0 {
		o.DefaultRawLimit = 1000
	}
	customers := o.Customers
	if customers == nil {
		customers = query.KnownFunc(func(string) bool { return true })
	}
	s := &Server{eng: eng, opts: o, log: obs.OrDiscard(o.Logger), metrics: newMetrics(o.Registerer)}
	h, err := query.NewHandler(query.AnswerFunc(s.answer), query.HandlerOptions{
		System: "nextgen", Customers: customers, Logger: s.log, Rejected: s.metrics.reject,
	})
	if err != nil {
		return nil, err
	}
	s.query = h
	return s, nil
}

// Mount adds /v1/query and /v1/raw to m: any valid token may call them,
// and each answers only customers the token may read (query.Authorize).
func (s *Server) Mount(m Mux) {
	m.Handle(query.PathQuery, component.PerCustomer(s.query))
	m.Handle("GET "+PathRaw, component.PerCustomer(http.HandlerFunc(s.raw)))
	m.Handle(PathRaw, s.methodNotAllowed(http.MethodGet))
}

// Handler is the API's routes on their own mux, for tests and embedding
// (the binary mounts them on a component runner).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}
