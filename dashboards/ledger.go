package dashboards

import (
	"net/http"
	"net/url"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// heatCell is one customer × hour × stage cell of the ledger heat map.
type heatCell struct {
	Class string // ok, lost, doubled, open, none
	Title string
}

type heatRow struct {
	Customer string
	Stage    string
	Cells    []heatCell
}

// heatMap lays reports out as rows of customer × stage over hours: a
// stage with a finding in an hour is "lost" (fewer than its reference) or
// "doubled" (more).
func heatMap(reports []ledger.Report, hours []time.Time) []heatRow {
	var rows []heatRow
	for _, rep := range reports {
		byHour := map[time.Time]ledger.HourReport{}
		for _, h := range rep.Hours {
			byHour[h.Hour.UTC()] = h
		}
		for _, stage := range rep.Stages {
			row := heatRow{Customer: rep.Customer, Stage: stage}
			for _, h := range hours {
				hr, ok := byHour[h]
				cell := heatCell{Class: "none", Title: h.Format("2006-01-02 15:00Z") + " " + stage + ": no record"}
				if ok {
					cell = heatCell{Class: "ok", Title: h.Format("2006-01-02 15:00Z") + " " + stage + ": " + hr.Status}
					if hr.Status == "open" {
						cell.Class = "open"
					}
					for _, f := range hr.Findings {
						if f.Stage != stage {
							continue
						}
						cell.Class, cell.Title = "lost", cell.Title+" — "+f.Message
						if f.Diff > 0 {
							cell.Class = "doubled"
						}
					}
				}
				row.Cells = append(row.Cells, cell)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// ledgerPage is the ledger heat map of the last 24 hours, from the audit's
// GET /v1/ledger/report (admin API).
func (s *Server) ledgerPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	to := s.opts.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-24 * time.Hour)
	hours := buckets(from, to, time.Hour)
	data := map[string]any{"Title": "Ledger", "Hours": hours}
	var reports []ledger.Report
	a := s.api(sessionFrom(ctx).token)
	for _, c := range s.opts.Customers.IDs() {
		var rep ledger.Report
		err := a.getJSON(ctx, s.opts.AdminURL, pathLedgerReport, url.Values{"customer": {c}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}, &rep)
		if err != nil {
			s.m.upstream.WithLabelValues(reason(err)).Inc()
			data["Err"] = unavailable("ledger report API", err)
			break
		}
		reports = append(reports, rep)
	}
	if data["Err"] == nil {
		data["Rows"] = heatMap(reports, hours)
	}
	s.render(w, r, http.StatusOK, "ledger", data)
}
