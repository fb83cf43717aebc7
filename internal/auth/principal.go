package auth

import (
	"context"
	"encoding/json"
	"net/http"
)

type principalKey struct{}

// Loopback is the principal of every request to a component that has no
// tokens file: it serves on a loopback address only, so whoever can reach
// it is on the machine and reads everything.
var Loopback = Principal{ID: "loopback", Admin: true}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the component runner put in a
// request's context; false when there is none (a handler served outside a
// runner).
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Error codes of the answers below (the query API's codes, see package
// query).
const (
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
)

// Unauthorized writes the 401 for a failed Authenticate: the reason (never
// the token) and WWW-Authenticate: Bearer.
func Unauthorized(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="brooks"`)
	msg := "a valid bearer token is required"
	if err != nil {
		msg = err.Error()
	}
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, msg+" (a token of the api_tokens_file: `brooks token new`)")
}

// NeedAdmin writes the 403 for a customer token on an admin endpoint.
func NeedAdmin(w http.ResponseWriter, p Principal) {
	writeError(w, http.StatusForbidden, CodeForbidden, "this endpoint needs an admin token (token "+p.ID+" reads customer "+p.Customer+" only)")
}

// Forbid writes the 403 for a principal asking for another customer.
func Forbid(w http.ResponseWriter, p Principal, customer string) {
	writeError(w, http.StatusForbidden, CodeForbidden, "token "+p.ID+" may not read customer "+customer)
}

// writeError writes the error body every Brooks API answers with:
// {"error": {"code": "...", "message": "..."}} (query.ErrorBody).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error detail `json:"error"`
	}{detail{code, msg}})
}
