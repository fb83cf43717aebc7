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
// Every request needs a bearer token (package internal/auth, checked by
// the component runner): a customer's read token reads only that customer
// (403 otherwise), admin tokens read all and the /v1/shadow/* endpoints.
//
// Usage:
//
//	p, err := proxy.New(proxy.Options{LegacyURL: "http://127.0.0.1:8081", NextgenURL: "http://127.0.0.1:8082",
//		States: states, Tokens: tokens, Comparer: comparer, Registerer: reg})
//	r := component.New(component.Options{Name: "proxy", Addr: proxy.DefaultAddr})
//	p.Mount(r)
//	err = r.Run(ctx) // serves until ctx ends
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
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
	// LegacyURL and NextgenURL are the two query APIs' base URLs.
	LegacyURL, NextgenURL string
	// States gives each customer's cutover state (required).
	States StateSource
	// Tokens authenticates requests (required): give the same tokens to
	// the component runner the proxy is mounted on (Options.Auth); Handler
	// uses them.
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
	// Registerer gets the proxy's metrics (a new registry when nil).
	Registerer prometheus.Registerer
	// Logger logs failures; nil discards. Tokens are never logged.
	Logger *slog.Logger
}

// DefaultOptions returns the local stack's settings; States and Tokens
// must be filled in.
func DefaultOptions() Options {
	return Options{
		LegacyURL: "http://127.0.0.1:8081", NextgenURL: "http://127.0.0.1:8082",
		Timeout: 10 * time.Second,
	}
}

// Proxy is the routing proxy.
type Proxy struct {
	opts     Options
	log      *slog.Logger
	backends map[string]*backend
	routes   map[string]http.Handler
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
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
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
	// The runner authenticates (Options.Auth, the same tokens): /v1/query
	// takes any valid token and serveQuery authorizes the customer; the
	// extra Handlers need an admin token (the runner's default).
	p.routes = map[string]http.Handler{
		"POST /v1/query": component.PerCustomer(http.HandlerFunc(p.serveQuery)),
		"/v1/query": component.PerCustomer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "bad_request", "use POST /v1/query")
		})),
	}
	for pattern, h := range o.Handlers {
		p.routes[pattern] = h
	}
	return p, nil
}

// Mux is where Mount adds the proxy's routes; *component.Runner satisfies
// it.
type Mux interface {
	Handle(pattern string, h http.Handler)
	AddReadyCheck(name string, check obs.ReadyCheck)
}

// Mount adds POST /v1/query, the extra Handlers and the backends' ready
// check to m. m authenticates: a *component.Runner with Options.Auth (the
// proxy's Tokens) puts the principal in each request's context, which
// serveQuery authorizes.
func (p *Proxy) Mount(m Mux) {
	for pattern, h := range p.routes {
		m.Handle(pattern, h)
	}
	m.AddReadyCheck("backends", p.ready)
}

// Handler is the proxy's routes on a component runner's handler (with
// /metrics, /healthz and /readyz), for tests and embedding.
func (p *Proxy) Handler() http.Handler {
	r := component.New(component.Options{Name: "proxy", Logger: p.log, Auth: p.opts.Tokens})
	p.Mount(r)
	return r.Handler()
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

func (p *Proxy) customerLabel(c string) string {
	if p.opts.Customers == nil {
		return c
	}
	if _, err := p.opts.Customers.Get(c); err != nil {
		return "unknown"
	}
	return c
}
