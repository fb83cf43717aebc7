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

// gate is one cutover gate as the controller reports it (values are
// preformatted by the controller).
type gate struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Threshold string `json:"threshold"`
	Pass      bool   `json:"pass"`
	Detail    string `json:"detail,omitempty"`
}

// cutoverRecord is a customer's state in GET /v1/cutover/customers.
type cutoverRecord struct {
	Customer  string    `json:"customer"`
	State     string    `json:"state"`
	Version   int64     `json:"version"`
	ChangedAt time.Time `json:"changed_at"`
}

// nextGates is GET /v1/cutover/customers/{c}/gates: the gates of the next
// advance.
type nextGates struct {
	State cutoverRecord `json:"state"`
	To    string        `json:"to"`
	Pass  bool          `json:"pass"`
	Gates []gate        `json:"gates"`
}

// transitionEntry is one line of GET .../history.
type transitionEntry struct {
	Version  int64     `json:"version"`
	At       time.Time `json:"at"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Forced   bool      `json:"forced"`
	Evidence []gate    `json:"evidence"`
}

// auditRun is one certificate in GET /v1/audit/runs (audit/certify's
// Summary), newest first.
type auditRun struct {
	Customer string `json:"customer"`
	Day      string `json:"day"`
	Verdict  string `json:"verdict"`
	Clean    bool   `json:"clean"`
	Digest   string `json:"digest"`
	Valid    bool   `json:"valid"`
}

// String is the console's "last audit" cell: the day, the verdict and
// the digest's first digits ("DIGEST MISMATCH" when it does not verify).
func (r auditRun) String() string {
	s := r.Day + " " + r.Verdict
	if r.Verdict == "clean" && !r.Clean {
		s += " (ledger disagrees)"
	}
	if !r.Valid {
		return s + " — DIGEST MISMATCH"
	}
	if len(r.Digest) >= 12 {
		s += " · sha256 " + r.Digest[:12]
	}
	return s
}

// customerRow is a line of the console's customers table.
type customerRow struct {
	Customer   string
	State      string
	Gates      []gate
	Next       string
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
		Customers []cutoverRecord `json:"customers"`
	}
	cutErr := a.getJSON(ctx, s.opts.CutoverURL, pathCutoverCustomers, nil, &cut)
	byCust := map[string]cutoverRecord{}
	for _, c := range cut.Customers {
		byCust[c.Customer] = c
	}
	var audit struct {
		Runs []auditRun `json:"runs"`
	}
	auditErr := a.getJSON(ctx, s.opts.AdminURL, pathAuditRuns, nil, &audit)
	var rows []customerRow
	for _, id := range s.opts.Customers.IDs() {
		row := customerRow{Customer: id, State: "—", Audit: "—"}
		if c, ok := byCust[id]; ok {
			row.State = c.State
			var g nextGates
			if err := a.getJSON(ctx, s.opts.CutoverURL, pathCutoverCustomers+"/"+url.PathEscape(id)+"/gates", nil, &g); err == nil {
				row.Gates, row.Next = g.Gates, g.To
			}
		}
		for _, run := range audit.Runs { // newest first
			if run.Customer == id {
				row.Audit = run.String()
				break
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
	var gates nextGates
	if err := a.getJSON(ctx, s.opts.CutoverURL, pathCutoverCustomers+"/"+url.PathEscape(c)+"/gates", nil, &gates); err != nil {
		data["CutoverErr"] = unavailable("cutover controller", err)
	} else {
		data["State"], data["Gates"], data["Next"], data["GatesPass"] = gates.State.State, gates.Gates, gates.To, gates.Pass
	}
	var hist struct {
		History []transitionEntry `json:"history"`
	}
	if err := a.getJSON(ctx, s.opts.CutoverURL, pathCutoverCustomers+"/"+url.PathEscape(c)+"/history", nil, &hist); err != nil {
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
	var out struct {
		State *cutoverRecord `json:"state"`
	}
	body := map[string]any{"reason": why}
	if from := r.PostFormValue("from"); from != "" {
		body["from"] = from // the state the operator saw: another is a 409
	}
	if action == "advance" && r.PostFormValue("force") != "" {
		body["force"] = true // past failing gates: the controller records them
	}
	err := s.api(sessionFrom(r.Context()).token).postJSON(r.Context(), s.opts.CutoverURL,
		pathCutoverCustomers+"/"+url.PathEscape(c)+"/"+action, body, &out)
	msg := action + " recorded: " + why
	if err == nil && out.State != nil {
		msg += " (now " + out.State.State + ")"
	}
	if err != nil {
		s.m.upstream.WithLabelValues(reason(err)).Inc()
		msg = action + " failed: " + unavailable("cutover controller", err)
	}
	http.Redirect(w, r, back+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}
