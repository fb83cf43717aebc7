package dashboards

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// The admin APIs the console reads besides the proxy's evidence. The
// cutover controller's and the audit's are not in every deployment yet:
// a 404 or a refused connection shows "not available yet".
const (
	pathCutoverCustomers = "/v1/cutover/customers"
	pathAuditRuns        = "/v1/audit/runs"
	pathLedgerReport     = "/v1/ledger/report"
)

// gate is one cutover gate as the controller reports it.
type gate struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	Detail string  `json:"detail,omitempty"`
}

// cutoverCustomer is a customer's entry of GET /v1/cutover/customers.
type cutoverCustomer struct {
	Customer string `json:"customer"`
	State    string `json:"state"`
	Gates    []gate `json:"gates"`
}

type transitionEntry struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
}

// customerRow is a line of the console's customers table.
type customerRow struct {
	Customer   string
	State      string
	Gates      []gate
	Summary    *evidence.Summary
	SummaryErr string
	Freshness  string
	Audit      string
}

// unavailable is the empty state's text for an API that is not there.
func unavailable(component string, err error) string {
	if errors.Is(err, ErrNotAvailable) {
		return "not available yet: " + component + " not running (" + err.Error() + ")"
	}
	return component + ": " + err.Error()
}

func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := s.api(sessionFrom(ctx).token)
	var cut struct {
		Customers []cutoverCustomer `json:"customers"`
	}
	cutErr := a.getJSON(ctx, s.opts.AdminURL, pathCutoverCustomers, nil, &cut)
	byCust := map[string]cutoverCustomer{}
	for _, c := range cut.Customers {
		byCust[c.Customer] = c
	}
	var audit struct {
		Runs []struct {
			Customer string `json:"customer"`
			Verdict  string `json:"verdict"`
		} `json:"runs"`
	}
	auditErr := a.getJSON(ctx, s.opts.AdminURL, pathAuditRuns, nil, &audit)
	var rows []customerRow
	for _, id := range s.opts.Customers.IDs() {
		row := customerRow{Customer: id, State: "—", Audit: "—"}
		if c, ok := byCust[id]; ok {
			row.State, row.Gates = c.State, c.Gates
		}
		for _, run := range audit.Runs {
			if run.Customer == id {
				row.Audit = run.Verdict
			}
		}
		var sum evidence.Summary
		if err := a.getJSON(ctx, s.opts.ProxyURL, evidence.PathSummary, url.Values{"customer": {id}, "since": {"24h"}}, &sum); err != nil {
			row.SummaryErr = unavailable("shadow comparer", err)
		} else {
			row.Summary = &sum
		}
		row.Freshness = s.freshness(ctx, id)
		rows = append(rows, row)
	}
	data := map[string]any{"Title": "Operator console", "Rows": rows}
	if cutErr != nil {
		data["CutoverErr"] = unavailable("cutover controller", cutErr)
	}
	if auditErr != nil {
		data["AuditErr"] = unavailable("audit", auditErr)
	}
	s.render(w, r, http.StatusOK, "console", data)
}

// freshness is how long ago the serving system's newest 5-minute bucket
// with page views started, over the last two hours.
func (s *Server) freshness(ctx context.Context, customer string) string {
	now := s.opts.Now().UTC()
	to := now.Truncate(step5m).Add(step5m)
	a, _, err := s.ask(ctx, &query.Query{Customer: customer, Metrics: []string{"pageviews"}, From: to.Add(-2 * time.Hour), To: to, Interval: "5m"})
	if err != nil {
		return "unknown: " + reason(err)
	}
	var last time.Time
	for _, se := range a.Series {
		for _, p := range se.Points {
			if p.T.After(last) {
				last = p.T
			}
		}
	}
	if last.IsZero() {
		return "no page views in 2 h"
	}
	return "bucket of " + now.Sub(last).Round(time.Second).String() + " ago"
}

// consoleCustomerPage is one customer: the evidence, open mismatches,
// cutover gates, advance / rollback and the transition history.
func (s *Server) consoleCustomerPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := r.PathValue("customer")
	if !s.opts.Customers.Known(c) {
		s.renderError(w, r, http.StatusNotFound, "No customer "+c+".")
		return
	}
	a := s.api(sessionFrom(ctx).token)
	data := map[string]any{"Title": c + " · console", "Customer": c, "Loc": s.location(c), "Msg": r.URL.Query().Get("msg")}
	var sum evidence.Summary
	if err := a.getJSON(ctx, s.opts.ProxyURL, evidence.PathSummary, url.Values{"customer": {c}, "since": {"24h"}}, &sum); err != nil {
		data["SummaryErr"] = unavailable("shadow comparer", err)
	} else {
		data["Summary"] = &sum
	}
	var ms struct {
		Mismatches []evidence.Mismatch `json:"mismatches"`
	}
	if err := a.getJSON(ctx, s.opts.ProxyURL, evidence.PathMismatches, url.Values{"customer": {c}}, &ms); err != nil {
		data["MismatchErr"] = unavailable("shadow comparer", err)
	} else {
		data["Mismatches"] = ms.Mismatches
	}
	var gates struct {
		State string `json:"state"`
		Gates []gate `json:"gates"`
	}
	if err := a.getJSON(ctx, s.opts.AdminURL, pathCutoverCustomers+"/"+url.PathEscape(c)+"/gates", nil, &gates); err != nil {
		data["CutoverErr"] = unavailable("cutover controller", err)
	} else {
		data["State"], data["Gates"] = gates.State, gates.Gates
	}
	var hist struct {
		History []transitionEntry `json:"history"`
	}
	if err := a.getJSON(ctx, s.opts.AdminURL, pathCutoverCustomers+"/"+url.PathEscape(c)+"/history", nil, &hist); err != nil {
		data["HistoryErr"] = unavailable("cutover controller", err)
	} else {
		data["History"] = hist.History
	}
	s.render(w, r, http.StatusOK, "customer", data)
}

// transition is POST /console/customers/{c}/{advance|rollback} with a
// required reason, sent to the cutover controller.
func (s *Server) transition(w http.ResponseWriter, r *http.Request) {
	c, action := r.PathValue("customer"), r.PathValue("action")
	if action != "advance" && action != "rollback" {
		s.renderError(w, r, http.StatusNotFound, "No action "+action+".")
		return
	}
	why := strings.TrimSpace(r.PostFormValue("reason"))
	back := "/console/customers/" + url.PathEscape(c)
	if why == "" {
		http.Redirect(w, r, back+"?msg="+url.QueryEscape("A reason is required to "+action+"."), http.StatusSeeOther)
		return
	}
	var out map[string]any
	err := s.api(sessionFrom(r.Context()).token).postJSON(r.Context(), s.opts.AdminURL,
		pathCutoverCustomers+"/"+url.PathEscape(c)+"/"+action, map[string]string{"reason": why}, &out)
	msg := action + " recorded: " + why
	if err != nil {
		s.m.upstream.WithLabelValues(reason(err)).Inc()
		msg = action + " failed: " + unavailable("cutover controller", err)
	}
	http.Redirect(w, r, back+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}
