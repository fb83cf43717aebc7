package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
)

// answer asks the engine, with its store failures made
// *query.UnavailableError (503) like every system's.
func (s *Server) answer(ctx context.Context, q *query.Query) (*query.Answer, error) {
	a, err := s.eng.Execute(ctx, *q)
	return a, unavailable(err)
}

// unavailable wraps the engine's store failures as *query.UnavailableError.
func unavailable(err error) error {
	var be *queryengine.BackendError
	switch {
	case errors.As(err, &be):
		return &query.UnavailableError{Store: be.Store, Err: be.Err}
	case errors.Is(err, queryengine.ErrNoRawStore):
		return &query.UnavailableError{Store: "cassandra", Err: err}
	}
	return err
}

// raw answers GET /v1/raw?customer=C&hour=RFC3339[&type=pv][&url=U][&limit=N]:
// the raw events of one customer and UTC hour from Cassandra, oldest
// first, at most limit of them (the answer says how many matched).
func (s *Server) raw(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	req := queryengine.RawRequest{Customer: p.Get("customer"), Type: p.Get("type"), URL: p.Get("url"), Limit: s.opts.DefaultRawLimit}
	if err := query.Authorize(r.Context(), req.Customer); err != nil {
		s.fail(w, r, err)
		return
	}
	if h := p.Get("hour"); h != "" {
		t, err := time.Parse(time.RFC3339, h)
		if err != nil {
			s.fail(w, r, &query.InvalidError{Field: "hour", Message: fmt.Sprintf("%q is not RFC 3339 (e.g. 2026-11-25T10:00:00Z)", h)})
			return
		}
		req.Hour = t
	}
	if l := p.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > s.opts.MaxRawLimit {
			s.fail(w, r, &query.InvalidError{Field: "limit", Message: fmt.Sprintf("%q: want a number from 1 to %d", l, s.opts.MaxRawLimit)})
			return
		}
		req.Limit = n
	}
	a, err := s.eng.Raw(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(a); err != nil {
		s.log.Warn("write raw answer", "err", err)
	}
}

// fail writes err as an error answer (query.Classify) and counts the
// rejection by reason.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := query.WriteQueryError(w, unavailable(err))
	s.metrics.reject(code)
	if status >= 500 && status != query.StatusClientClosed {
		s.log.Warn("request failed", "path", r.URL.Path, "status", status, "err", err)
	}
}

// methodNotAllowed answers a wrong method with 405 and the error body.
func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.fail(w, r, &query.MethodError{Method: r.Method, Path: r.URL.Path, Allow: allow})
	}
}
