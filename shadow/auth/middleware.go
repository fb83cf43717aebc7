package auth

import (
	"context"
	"errors"
	"net/http"

	"github.com/brooksdata/brooks/query"
)

type principalKey struct{}

// FromContext returns the principal Require put in a request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Require wraps h so that it runs only for requests with a valid token:
// 401 (query.CodeUnauthorized) otherwise, with a WWW-Authenticate header.
// When admin is set the token must be an admin token (403 otherwise). The
// principal is in the request's context (FromContext).
func (t *Tokens) Require(admin bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := t.Authenticate(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="brooks"`)
			msg := "a valid bearer token is required"
			if errors.Is(err, ErrUnauthenticated) {
				msg = err.Error()
			}
			query.WriteError(w, http.StatusUnauthorized, query.CodeUnauthorized, msg)
			return
		}
		if admin && !p.Admin {
			query.WriteError(w, http.StatusForbidden, query.CodeForbidden, "this endpoint needs an admin token (token "+p.ID+" reads customer "+p.Customer+" only)")
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// Forbid writes the 403 for a principal asking for another customer.
func Forbid(w http.ResponseWriter, p Principal, customer string) {
	query.WriteError(w, http.StatusForbidden, query.CodeForbidden, "token "+p.ID+" may not read customer "+customer)
}
