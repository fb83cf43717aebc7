// Package proxy is Brooks' routing proxy, `brooks proxy`: dashboards send
// their queries here instead of to legacy or nextgen. Each customer is
// served by the system its cutover state names, and in shadow and live the
// same query goes to the other system in the background for comparison:
//
//	state     serves    compared with
//	legacy    legacy    -
//	shadow    legacy    nextgen
//	live      nextgen   legacy
//	complete  nextgen   -
//
// The answer is the serving system's own bytes, with a Brooks-Served-By
// header; "served_by" in the body is the system's. When the serving system
// fails (5xx, timeout, connection refused) and the customer is in shadow or
// live, the other system answers instead, marked "fallback": true in the
// body and Brooks-Fallback: true. A 4xx of the serving system (400, 404,
// legacy's 422) is returned as it is. Comparisons go to a bounded queue
// (see package compare) and never delay or fail the served answer.
//
// Every request needs a bearer token (package auth): a customer's read
// token reads only that customer (403 otherwise), admin tokens read all.
//
// Usage:
//
//	p, err := proxy.New(proxy.Options{LegacyURL: "http://127.0.0.1:8081", NextgenURL: "http://127.0.0.1:8082",
//		States: states, Tokens: tokens, Comparer: comparer, Registerer: reg})
//	err = p.Run(ctx) // serves on Options.Addr until ctx ends
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/auth"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
)

// DefaultAddr is where `brooks proxy` listens.
const DefaultAddr = "127.0.0.1:8090"

// Headers the proxy sets on answers.
const (
	HeaderServedBy = "Brooks-Served-By"
	HeaderFallback = "Brooks-Fallback"
)

// StateSource says which cutover state a customer is in. A file
// (cutover.File) implements it today, the cutover controller later.
type StateSource interface {
	State(ctx context.Context, customer string) (cutover.State, error)
}

// Comparer takes served answers for comparison with the other system. It
// must not block: a full queue drops the comparison (and counts it).
type Comparer interface {
	Offer(job compare.Job) bool
}

// Options configure a Proxy.
type Options struct {
	// Addr is the listen address (DefaultAddr when empty).
	Addr string
	// LegacyURL and NextgenURL are the two query APIs' base URLs.
	LegacyURL, NextgenURL string
	// States gives each customer's cutover state (required).
	States StateSource
	// Tokens authenticates requests (required).
	Tokens *auth.Tokens
	// Customers, when set, bounds the customer label of metrics (others
	// are labelled "unknown").
	Customers *pixel.Customers
	// Comparer gets every answer served in shadow or live; nil compares
	// nothing.
	Comparer Comparer
	// Timeout bounds one backend request (default 10 s); a slower backend
	// counts as failed (fallback in shadow and live).
	Timeout time.Duration
	// Transport is the backends' HTTP transport (a pooled one when nil).
	Transport http.RoundTripper
	// Handlers are extra routes, served with an admin token (for example
	// the comparer's GET /v1/shadow/summary).
	Handlers map[string]http.Handler
	// ShutdownGrace bounds the graceful shutdown (default 10 s).
	ShutdownGrace time.Duration
	// Registerer gets the proxy's metrics and Registry serves /metrics
	// (a new registry when both are nil).
	Registerer prometheus.Registerer
	Registry   *prometheus.Registry
	// Logger logs failures; nil discards. Tokens are never logged.
	Logger *slog.Logger
}

// DefaultOptions returns the local stack's settings; States and Tokens
// must be filled in.
func DefaultOptions() Options {
	return Options{
		Addr: DefaultAddr, LegacyURL: "http://127.0.0.1:8081", NextgenURL: "http://127.0.0.1:8082",
		Timeout: 10 * time.Second, ShutdownGrace: 10 * time.Second,
	}
}

// Proxy is the routing proxy.
type Proxy struct {
	opts     Options
	log      *slog.Logger
	backends map[string]*backend
	mux      *obs.Mux
	m        *metrics
}

// New checks opts and returns a proxy.
func New(o Options) (*Proxy, error) {
	d := DefaultOptions()
	switch {
	case o.States == nil:
		return nil, errors.New("proxy: no cutover state source")
	case o.Tokens == nil:
		return nil, errors.New("proxy: no tokens")
	case o.LegacyURL == "" || o.NextgenURL == "":
		return nil, errors.New("proxy: legacy and nextgen URLs are required")
	}
	if o.Addr == "" {
		o.Addr = d.Addr
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = d.ShutdownGrace
	}
	if o.Registry == nil {
		o.Registry = obs.NewRegistry()
	}
	if o.Registerer == nil {
		o.Registerer = o.Registry
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	hc := &http.Client{Transport: o.Transport, Timeout: o.Timeout}
	p := &Proxy{opts: o, log: obs.OrDiscard(o.Logger), m: newMetrics(o.Registerer)}
	p.backends = map[string]*backend{
		compare.Legacy:  {name: compare.Legacy, base: strings.TrimSuffix(o.LegacyURL, "/"), http: hc},
		compare.Nextgen: {name: compare.Nextgen, base: strings.TrimSuffix(o.NextgenURL, "/"), http: hc},
	}
	p.mux = obs.NewMux(o.Registry)
	p.mux.Handle("POST /v1/query", p.countRefused("query", o.Tokens.Require(false, http.HandlerFunc(p.serveQuery))))
	p.mux.Handle("/v1/query", p.countRefused("query", o.Tokens.Require(false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "bad_request", "use POST /v1/query")
	}))))
	for pattern, h := range o.Handlers {
		p.mux.Handle(pattern, p.countRefused(pattern, o.Tokens.Require(true, h)))
	}
	p.mux.AddReadyCheck("backends", p.ready)
	return p, nil
}

// Handler is the proxy's HTTP handler, for tests and embedding.
func (p *Proxy) Handler() http.Handler { return p.mux }

// Run serves on Options.Addr until ctx ends, then shuts down gracefully.
func (p *Proxy) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", p.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", p.opts.Addr, err)
	}
	return p.Serve(ctx, ln)
}

// Serve is Run on an open listener.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           p.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		// An answer may wait for the serving system and then the fallback.
		WriteTimeout: 2*p.opts.Timeout + 5*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	p.log.Info("proxy listening", "addr", ln.Addr().String(), "legacy", p.opts.LegacyURL, "nextgen", p.opts.NextgenURL)
	select {
	case err := <-errc:
		return fmt.Errorf("proxy serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), p.opts.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("proxy shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ready checks that both backends answer /healthz.
func (p *Proxy) ready(ctx context.Context) error {
	var errs []error
	for _, name := range []string{compare.Legacy, compare.Nextgen} {
		if err := p.backends[name].health(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// countRefused counts the 401 and 403 answers of an endpoint.
func (p *Proxy) countRefused(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.code == http.StatusUnauthorized || sw.code == http.StatusForbidden {
			p.m.refused.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (p *Proxy) customerLabel(c string) string {
	if p.opts.Customers == nil {
		return c
	}
	if _, err := p.opts.Customers.Get(c); err != nil {
		return "unknown"
	}
	return c
}
