package component

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/auth"
)

// Authenticator checks a request's Authorization header value and says
// who the caller is; *auth.Tokens (the api_tokens_file) is one. Its errors
// must not repeat the token.
type Authenticator interface {
	Authenticate(header string) (auth.Principal, error)
}

// access is what a route asks of the caller.
type access int

const (
	adminOnly   access = iota // the default: an admin token
	perCustomer               // any valid token; the handler authorizes
	public                    // no token
)

type accessHandler struct {
	http.Handler
	access access
}

// Public marks h as a route that needs no token: the collector's tracker
// endpoints, which browsers call without any secret.
func Public(h http.Handler) http.Handler { return accessHandler{h, public} }

// PerCustomer marks h as a route any valid token may call: h serves one
// customer's data and authorizes itself, with the principal the runner put
// in the request's context (auth.FromContext, Principal.CanRead; 403
// through auth.Forbid). The query APIs' POST /v1/query are such routes.
func PerCustomer(h http.Handler) http.Handler { return accessHandler{h, perCustomer} }

func accessOf(h http.Handler) access {
	if a, ok := h.(accessHandler); ok {
		return a.access
	}
	return adminOnly
}

// authMetrics count the requests the runner refused.
type authMetrics struct{ refused *prometheus.CounterVec }

func newAuthMetrics(reg prometheus.Registerer, subsystem string) *authMetrics {
	m := &authMetrics{refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "brooks", Subsystem: subsystem, Name: "auth_refused_total",
		Help: "Requests the runner refused before any handler ran: 401 (no or unknown token) and 403 (a customer token on an admin route), by route.",
	}, []string{"route", "code"})}
	reg.MustRegister(m.refused)
	return m
}

// guard wraps h with authentication: without Options.Auth every request
// carries auth.Loopback (the runner serves on loopback only); with it a
// request needs a valid token (401), an admin one unless h is PerCustomer
// (403), and carries its principal (auth.FromContext). Public routes pass
// as they are.
func (r *Runner) guard(pattern string, h http.Handler) http.Handler {
	acc := accessOf(h)
	if a, ok := h.(accessHandler); ok {
		h = a.Handler
	}
	if acc == public {
		return h
	}
	if r.opts.Auth == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			h.ServeHTTP(w, req.WithContext(auth.NewContext(req.Context(), auth.Loopback)))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, err := r.opts.Auth.Authenticate(req.Header.Get("Authorization"))
		switch {
		case err != nil:
			r.refuse(pattern, http.StatusUnauthorized)
			r.log.Debug("request refused", "route", pattern, "code", http.StatusUnauthorized, "reason", err, "remote", req.RemoteAddr)
			auth.Unauthorized(w, err)
			return
		case acc == adminOnly && !p.Admin:
			r.refuse(pattern, http.StatusForbidden)
			r.log.Debug("request refused", "route", pattern, "code", http.StatusForbidden, "token_id", p.ID, "remote", req.RemoteAddr)
			auth.NeedAdmin(w, p)
			return
		}
		h.ServeHTTP(w, req.WithContext(auth.NewContext(req.Context(), p)))
	})
}

func (r *Runner) refuse(pattern string, code int) {
	r.authm.refused.WithLabelValues(pattern, strconv.Itoa(code)).Inc()
}

// ErrUnauthenticated is returned by Run for a runner without tokens asked
// to listen on an address other hosts can reach (a configuration error).
var ErrUnauthenticated = errors.New("refusing to serve without authentication")

// checkExposure refuses to serve without tokens on anything but loopback:
// endpoints are open only where nobody else can reach them.
func (r *Runner) checkExposure(ln net.Listener) error {
	if r.opts.Auth != nil {
		return nil
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if ok && addr.IP.IsLoopback() {
		r.log.Warn("HTTP endpoints are not authenticated (no api_tokens_file); serving on loopback only", "addr", addr.String())
		return nil
	}
	return fmt.Errorf("%w on %s: set api_tokens_file, or listen on 127.0.0.1", ErrUnauthenticated, ln.Addr())
}
