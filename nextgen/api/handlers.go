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

// query answers POST /v1/query: a query of the language in the body.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	q, err := query.Decode(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.eng.Execute(r.Context(), *q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	query.WriteAnswer(w, a)
}

// raw answers GET /v1/raw?customer=C&hour=RFC3339[&type=pv][&url=U][&limit=N]:
// the raw events of one customer and UTC hour from Cassandra, oldest
// first, at most limit of them (the answer says how many matched).
func (s *Server) raw(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	req := queryengine.RawRequest{Customer: p.Get("customer"), Type: p.Get("type"), URL: p.Get("url"), Limit: s.opts.DefaultRawLimit}
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

// fail writes err as an error answer and counts the rejection by reason.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *query.InvalidError
	var uns *query.UnsupportedError
	var be *queryengine.BackendError
	status, code := http.StatusInternalServerError, query.CodeInternal
	switch {
	case errors.As(err, &inv):
		status, code = http.StatusBadRequest, query.CodeInvalid
	case errors.As(err, &uns):
		status, code = http.StatusUnprocessableEntity, query.CodeUnsupported
	case errors.Is(err, queryengine.ErrNoRawStore):
		status, code = http.StatusServiceUnavailable, query.CodeUnavailable
	case errors.As(err, &be), errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusServiceUnavailable, query.CodeUnavailable
	case errors.Is(err, context.Canceled):
		status, code = 499, "canceled" // the client went away; nobody reads this
	}
	s.metrics.rejected.WithLabelValues(code).Inc()
	if status >= 500 {
		s.log.Warn("request failed", "path", r.URL.Path, "status", status, "err", err)
	}
	query.WriteError(w, status, code, err.Error())
}

// methodNotAllowed answers a wrong method with 405 and the error body.
func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.metrics.rejected.WithLabelValues(query.CodeBadRequest).Inc()
		w.Header().Set("Allow", allow)
		query.WriteError(w, http.StatusMethodNotAllowed, query.CodeBadRequest,
			fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allow))
	}
}
