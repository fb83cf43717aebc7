package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/brooksdata/brooks/internal/auth"
)

// PathQuery is where every system answers the language: POST /v1/query.
const PathQuery = "/v1/query"

// Answerer answers a valid query for a known customer. Its errors are
// classified by Classify: *UnsupportedError (422), *UnavailableError (503),
// anything else 500.
type Answerer interface {
	Answer(ctx context.Context, q *Query) (*Answer, error)
}

// AnswerFunc is an Answerer from a function.
type AnswerFunc func(ctx context.Context, q *Query) (*Answer, error)

// Answer calls f.
func (f AnswerFunc) Answer(ctx context.Context, q *Query) (*Answer, error) { return f(ctx, q) }

// Customers tells whether a customer id is known; *pixel.Customers
// satisfies it.
type Customers interface {
	Known(id string) bool
}

// KnownFunc is Customers from a function.
type KnownFunc func(id string) bool

// Known calls f.
func (f KnownFunc) Known(id string) bool { return f(id) }

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// System names the answering system in error messages ("legacy").
	System string
	// Customers rejects queries for customers it does not know (required).
	Customers Customers
	// Timeout bounds one query; zero leaves it to the Answerer.
	Timeout time.Duration
	// Logger logs failures on the server's side (5xx); nil discards.
	Logger *slog.Logger
	// Rejected, when set, is called with the error code of every error
	// answer (for a rejections-by-reason counter).
	Rejected func(code string)
}

// Handler serves POST /v1/query the same way for every system: it decodes
// and validates the body (400 invalid_query), authorizes the principal the
// component runner put in the request's context (403 forbidden for a
// customer token asking for another customer; mount it with
// component.PerCustomer), checks the customer (400
// unknown_customer, never naming other customers), asks the Answerer and
// writes the answer or the {"error":{"code","message"}} body. Any other
// method gets 405 bad_request with Allow: POST.
type Handler struct {
	a    Answerer
	opts HandlerOptions
	log  *slog.Logger
}

// NewHandler returns the query handler over a.
func NewHandler(a Answerer, o HandlerOptions) (*Handler, error) {
	if a == nil || o.Customers == nil {
		return nil, errors.New("query handler: answerer and customers are required")
	}
	if o.System == "" {
		o.System = "this system"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{a: a, opts: o, log: log}, nil
}

// ServeHTTP answers one query.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.write(w, r, &MethodError{Method: r.Method, Path: r.URL.Path, Allow: http.MethodPost})
		return
	}
	q, err := Decode(r.Body)
	if err != nil {
		h.write(w, r, err)
		return
	}
	if err := Authorize(r.Context(), q.Customer); err != nil {
		h.write(w, r, err)
		return
	}
	if err := CheckCustomer(h.opts.Customers, q.Customer, h.opts.System); err != nil {
		h.write(w, r, err)
		return
	}
	ctx := r.Context()
	if h.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.opts.Timeout)
		defer cancel()
	}
	a, err := h.a.Answer(ctx, q)
	if err != nil {
		h.write(w, r, err)
		return
	}
	WriteAnswer(w, a)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, err error) {
	status, code := WriteQueryError(w, err)
	if h.opts.Rejected != nil {
		h.opts.Rejected(code)
	}
	if status >= 500 && status != StatusClientClosed {
		h.log.Warn("query failed", "system", h.opts.System, "path", r.URL.Path, "status", status, "err", err)
	}
}

// CheckCustomer returns an *UnknownCustomerError when id is not known to
// system; the message names only id.
func CheckCustomer(cs Customers, id, system string) error {
	if cs.Known(id) {
		return nil
	}
	return &UnknownCustomerError{Customer: id, System: system}
}

// ForbiddenError is a query for a customer the caller's token may not
// read: 403 forbidden.
type ForbiddenError struct {
	TokenID, Customer string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("token %s may not read customer %s", e.TokenID, e.Customer)
}

// Authorize returns a *ForbiddenError when the principal in ctx (see
// internal/auth) may not read customer. A context without a principal is
// a handler served outside a component runner (a test's own mux): the
// runner puts one in every request of a route that is not public.
func Authorize(ctx context.Context, customer string) error {
	p, ok := auth.FromContext(ctx)
	if ok && !p.CanRead(customer) {
		return &ForbiddenError{TokenID: p.ID, Customer: customer}
	}
	return nil
}

// UnknownCustomerError is a query for a customer the system does not
// know: 400 unknown_customer in every system, like the collector's answer
// to a pixel of an unknown aid.
type UnknownCustomerError struct {
	Customer string
	System   string
}

func (e *UnknownCustomerError) Error() string {
	sys := e.System
	if sys == "" {
		sys = "this system"
	}
	return fmt.Sprintf("customer %q is not known to %s (is it in the customers file?)", e.Customer, sys)
}

// UnavailableError is a store behind an API that did not answer (503;
// the client may retry).
type UnavailableError struct {
	Store string
	Err   error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s did not answer: %v", e.Store, e.Err)
}
func (e *UnavailableError) Unwrap() error { return e.Err }

// MethodError is a request with the wrong method (405 bad_request).
type MethodError struct {
	Method, Path, Allow string
}

func (e *MethodError) Error() string { return fmt.Sprintf("%s %s: use %s", e.Method, e.Path, e.Allow) }

// StatusClientClosed is the status recorded for a request whose client
// went away before the answer (nginx's 499; nobody reads it).
const StatusClientClosed = 499

// Classify maps an error of decoding, validating or answering a query to
// its HTTP status and error code: *InvalidError 400 invalid_query,
// *UnknownCustomerError 400 unknown_customer, *MethodError 405
// bad_request, *UnsupportedError 422 unsupported, *UnavailableError or a
// deadline 503 unavailable, a canceled request 499 canceled, anything
// else 500 internal.
func Classify(err error) (status int, code string) {
	var inv *InvalidError
	var unk *UnknownCustomerError
	var me *MethodError
	var uns *UnsupportedError
	var una *UnavailableError
	var fe *ForbiddenError
	switch {
	case errors.As(err, &fe):
		return http.StatusForbidden, CodeForbidden
	case errors.As(err, &inv):
		return http.StatusBadRequest, CodeInvalid
	case errors.As(err, &unk):
		return http.StatusBadRequest, CodeUnknownCustomer
	case errors.As(err, &me):
		return http.StatusMethodNotAllowed, CodeBadRequest
	case errors.As(err, &uns):
		return http.StatusUnprocessableEntity, CodeUnsupported
	case errors.As(err, &una), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, CodeUnavailable
	case errors.Is(err, context.Canceled):
		return StatusClientClosed, CodeCanceled
	}
	return http.StatusInternalServerError, CodeInternal
}
