package cutover

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/query"
)

// PathCustomers is the root of the admin API.
const PathCustomers = "/v1/cutover/customers"

// Error codes of the admin API beyond the query API's.
const (
	CodeConflict   = "conflict"   // 409: a lost compare-and-set; "current" holds the state now
	CodeGateUnmet  = "gate_unmet" // 422: "gates" holds every gate, failing ones with pass=false
	CodeIllegal    = "illegal"    // 409: no such step from the current state
	codeNoCustomer = "unknown_customer"
)

// MoveBody is the JSON body of POST .../advance and .../rollback.
type MoveBody struct {
	Reason string `json:"reason"`
	Force  bool   `json:"force,omitempty"`
	// From is the state the caller expects (optional; another is a 409).
	From State `json:"from,omitempty"`
}

// MoveAnswer is the answer of a move (and, with Error, of a refused one).
type MoveAnswer struct {
	Error   *query.ErrorDetail `json:"error,omitempty"`
	State   *Record            `json:"state,omitempty"`
	Current *Record            `json:"current,omitempty"`
	Gates   []Gate             `json:"gates,omitempty"`
}

// Handlers is the admin HTTP API over c, to be mounted behind an admin
// token check (a component runner with tokens asks one of every route):
//
//	GET  /v1/cutover/customers                 every customer's state
//	GET  /v1/cutover/customers/{c}             one customer's state
//	GET  /v1/cutover/customers/{c}/gates       the next advance's gates
//	POST /v1/cutover/customers/{c}/advance     {"reason": R, "force": false, "from": S}
//	POST /v1/cutover/customers/{c}/rollback    {"reason": R, "from": S}
//	GET  /v1/cutover/customers/{c}/history     every transition, oldest first
//
// The actor recorded is "token:<id>" of the admin token.
func Handlers(c *Controller) map[string]http.Handler {
	return map[string]http.Handler{
		"GET " + PathCustomers: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rs, err := c.List(r.Context())
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, struct {
				Customers []Record `json:"customers"`
			}{append([]Record{}, rs...)})
		}),
		"GET " + PathCustomers + "/{customer}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec, err := c.Status(r.Context(), r.PathValue("customer"))
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, rec)
		}),
		"GET " + PathCustomers + "/{customer}/gates": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cur, to, gs, err := c.NextGates(r.Context(), r.PathValue("customer"))
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, struct {
				State Record `json:"state"`
				To    State  `json:"to"`
				Pass  bool   `json:"pass"`
				Gates []Gate `json:"gates"`
			}{cur, to, len(Failing(gs)) == 0, append([]Gate{}, gs...)})
		}),
		"GET " + PathCustomers + "/{customer}/history": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := c.Status(r.Context(), r.PathValue("customer")); err != nil {
				writeErr(w, err)
				return
			}
			h, err := c.History(r.Context(), r.PathValue("customer"))
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, struct {
				Customer string  `json:"customer"`
				History  []Entry `json:"history"`
			}{r.PathValue("customer"), append([]Entry{}, h...)})
		}),
		"POST " + PathCustomers + "/{customer}/advance":  move(c, Advance),
		"POST " + PathCustomers + "/{customer}/rollback": move(c, Rollback),
	}
}

func move(c *Controller, a Action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body MoveBody
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, `body: want {"reason": "...", "force": false, "from": "shadow"}: `+err.Error())
			return
		}
		actor := "api"
		if p, ok := auth.FromContext(r.Context()); ok {
			actor = "token:" + p.ID
		}
		req := Request{Customer: r.PathValue("customer"), Actor: actor, Reason: strings.TrimSpace(body.Reason), From: body.From, Force: body.Force}
		var rec Record
		var gs []Gate
		var err error
		if a == Advance {
			rec, gs, err = c.Advance(r.Context(), req)
		} else {
			if body.Force {
				query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, "a rollback has no gates to force")
				return
			}
			rec, err = c.Rollback(r.Context(), req)
		}
		if err != nil {
			writeErr(w, err, gs...)
			return
		}
		writeJSON(w, http.StatusOK, MoveAnswer{State: &rec, Gates: gs})
	})
}

func writeErr(w http.ResponseWriter, err error, gs ...Gate) {
	var ce *ConflictError
	var ge *GateError
	status, code := http.StatusServiceUnavailable, query.CodeUnavailable
	ans := MoveAnswer{}
	switch {
	case errors.As(err, &ce):
		status, code, ans.Current = http.StatusConflict, CodeConflict, &ce.Current
	case errors.As(err, &ge):
		status, code, ans.Gates = http.StatusUnprocessableEntity, CodeGateUnmet, gs
	case errors.Is(err, ErrIllegal):
		status, code = http.StatusConflict, CodeIllegal
	case errors.Is(err, ErrUnknownCustomer):
		status, code = http.StatusNotFound, codeNoCustomer
	case errors.Is(err, errBadRequest):
		status, code = http.StatusBadRequest, query.CodeBadRequest
	}
	ans.Error = &query.ErrorDetail{Code: code, Message: err.Error()}
	writeJSON(w, status, ans)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
