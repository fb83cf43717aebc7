package component

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Public marks h as a route that needs no authentication: the collector's
// tracker endpoints, which browsers call without any secret. Every other
// route but /healthz and /readyz requires a token when Options.Tokens is
// set.
func Public(h http.Handler) http.Handler { return publicHandler{h} }

type publicHandler struct{ http.Handler }

// guard wraps h with the bearer-token check unless it is Public or the
// runner has no tokens.
func (r *Runner) guard(h http.Handler) http.Handler {
	if _, ok := h.(publicHandler); ok || len(r.opts.Tokens) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.authorized(req) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="brooks"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error":{"code":"unauthorized","message":"send Authorization: Bearer <token> (a token of the component's api_tokens_file)"}}`)
			return
		}
		h.ServeHTTP(w, req)
	})
}

// authorized reports whether req carries one of the tokens, compared in
// constant time.
func (r *Runner) authorized(req *http.Request) bool {
	got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return false
	}
	match := 0
	for _, t := range r.opts.Tokens {
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
	}
	return match == 1
}

// ErrUnauthenticated is returned by Run for a runner without tokens asked
// to listen on an address other hosts can reach (a configuration error).
var ErrUnauthenticated = errors.New("refusing to serve without authentication")

// checkExposure refuses to serve without tokens on anything but loopback:
// endpoints are open only where nobody else can reach them.
func (r *Runner) checkExposure(ln net.Listener) error {
	if len(r.opts.Tokens) > 0 {
		return nil
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if ok && addr.IP.IsLoopback() {
		r.log.Warn("HTTP endpoints are not authenticated (no API tokens); serving on loopback only", "addr", addr.String())
		return nil
	}
	return fmt.Errorf("%w on %s: set api_tokens_file, or listen on 127.0.0.1", ErrUnauthenticated, ln.Addr())
}
