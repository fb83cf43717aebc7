package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// Routes of the audit's admin API.
const (
	PathLedgerReport = "/v1/ledger/report"
	PathAuditRuns    = "/v1/audit/runs"
)

// LedgerReader reads the lineage ledger (*ledger.Store).
type LedgerReader interface {
	Read(ctx context.Context, customer string, from, to time.Time) (ledger.Hours, error)
}

// CertificateLister lists stored certificates (*certify.Store).
type CertificateLister interface {
	List(ctx context.Context, customer string, limit int) ([]certify.Summary, error)
}

// Options configure Handlers.
type Options struct {
	Ledger       LedgerReader
	Certificates CertificateLister
	Customers    *pixel.Customers
	// ArchiveRoot is the local archive the truth references are recomputed
	// from ("" : no truth references).
	ArchiveRoot string
	// Lookback is how far before from the archive is read, so retries of
	// older events are not taken for new ones (default 6 h).
	Lookback time.Duration
	// Grace: an hour is settled once it ended this long ago (default 10 min).
	Grace time.Duration
	// MinSettled is the fewest settled hours for a verdict (default diff's).
	MinSettled int
	// Period is the report's default length when from is not given (24 h).
	Period time.Duration
	// RunsPerCustomer caps the certificates listed per customer (default 30).
	RunsPerCustomer int
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultOptions returns the defaults; Ledger, Certificates and
// Customers must be filled in.
func DefaultOptions() Options {
	return Options{Lookback: 6 * time.Hour, Grace: 10 * time.Minute, MinSettled: diff.DefaultMinCompared, Period: 24 * time.Hour, RunsPerCustomer: 30}
}

// Handlers returns the audit's admin routes by pattern, for a component
// runner (admin tokens) to mount.
func Handlers(o Options) (map[string]http.Handler, error) {
	if o.Ledger == nil || o.Certificates == nil || o.Customers == nil {
		return nil, errors.New("audit api: a ledger, a certificate store and customers are required")
	}
	d := DefaultOptions()
	if o.Lookback <= 0 {
		o.Lookback = d.Lookback
	}
	if o.Grace <= 0 {
		o.Grace = d.Grace
	}
	if o.MinSettled <= 0 {
		o.MinSettled = d.MinSettled
	}
	if o.Period <= 0 {
		o.Period = d.Period
	}
	if o.RunsPerCustomer <= 0 {
		o.RunsPerCustomer = d.RunsPerCustomer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &handlers{o: o}
	return map[string]http.Handler{
		"GET " + PathLedgerReport: http.HandlerFunc(h.ledgerReport),
		"GET " + PathAuditRuns:    http.HandlerFunc(h.runs),
	}, nil
}

type handlers struct{ o Options }

// ledgerReport is GET /v1/ledger/report?customer=C&from=&to=: from and to
// are RFC 3339 or a duration ago (from defaults to Period ago, to to now).
func (h *handlers) ledgerReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	customer := q.Get("customer")
	if customer == "" {
		query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, "customer is required")
		return
	}
	if !h.o.Customers.Known(customer) {
		query.WriteError(w, http.StatusBadRequest, query.CodeUnknownCustomer, fmt.Sprintf("unknown customer %q", customer))
		return
	}
	wall := h.o.Now().UTC()
	from, to := wall.Add(-h.o.Period), wall
	var err error
	if s := q.Get("from"); s != "" {
		if from, err = ledger.ParseTime(s, wall); err != nil {
			query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, "from: "+err.Error())
			return
		}
	}
	if s := q.Get("to"); s != "" {
		if to, err = ledger.ParseTime(s, wall); err != nil {
			query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, "to: "+err.Error())
			return
		}
	}
	if !from.Before(to) {
		query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest,
			fmt.Sprintf("from %s is not before to %s: the period is empty", from.Format(time.RFC3339), to.Format(time.RFC3339)))
		return
	}
	ctx := r.Context()
	hours, err := h.o.Ledger.Read(ctx, customer, from, to)
	if err != nil {
		h.unavailable(w, "read the ledger", err)
		return
	}
	var notes []string
	if h.o.ArchiveRoot != "" {
		if notes, err = AddTruth(ctx, h.o.ArchiveRoot, h.o.Customers, hours, customer, from, to, h.o.Lookback); err != nil {
			h.unavailable(w, "truth references", err)
			return
		}
	}
	rep := ledger.CompareWith(hours, ledger.CompareOptions{
		Customer: customer, From: from, To: to, Now: wall, Wall: wall, Grace: h.o.Grace, MinSettled: h.o.MinSettled,
	})
	rep.Notes = append(notes, rep.Notes...)
	w.Header().Set("Content-Type", "application/json")
	if err := rep.WriteJSON(w); err != nil {
		h.o.Logger.Warn("write ledger report", "customer", customer, "err", err)
	}
}

// runs is GET /v1/audit/runs[?customer=C]: the stored certificates,
// newest day first (then newest issued), at most RunsPerCustomer of each
// customer.
func (h *handlers) runs(w http.ResponseWriter, r *http.Request) {
	custs := h.o.Customers.IDs()
	if c := r.URL.Query().Get("customer"); c != "" {
		if !h.o.Customers.Known(c) {
			query.WriteError(w, http.StatusBadRequest, query.CodeUnknownCustomer, fmt.Sprintf("unknown customer %q", c))
			return
		}
		custs = []string{c}
	}
	runs := []certify.Summary{}
	for _, c := range custs {
		s, err := h.o.Certificates.List(r.Context(), c, h.o.RunsPerCustomer)
		if err != nil {
			h.unavailable(w, "list certificates", err)
			return
		}
		runs = append(runs, s...)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Day != runs[j].Day {
			return runs[i].Day > runs[j].Day
		}
		return runs[i].IssuedAt.After(runs[j].IssuedAt)
	})
	writeJSON(w, h.o.Logger, map[string]any{"runs": runs})
}

func (h *handlers) unavailable(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Warn("audit api: "+what, "err", err)
	query.WriteError(w, http.StatusServiceUnavailable, query.CodeUnavailable, what+": "+err.Error())
}
