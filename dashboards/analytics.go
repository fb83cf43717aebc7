package dashboards

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/proxy"
)

const step5m = 5 * time.Minute

// served is what the badge shows: the system that answered and whether
// it was a fallback; Approx lists the metrics counted approximately.
type served struct {
	By       string
	Fallback bool
	Approx   []string
}

func servedOf(a *query.Answer, h http.Header) served {
	s := served{By: a.ServedBy}
	if h != nil {
		if v := h.Get(proxy.HeaderServedBy); v != "" {
			s.By = v
		}
		s.Fallback = h.Get(proxy.HeaderFallback) == "true"
	}
	for m := range a.Approximate {
		s.Approx = append(s.Approx, m)
	}
	sort.Strings(s.Approx)
	return s
}

func (s served) approx(metric string) bool { return slices.Contains(s.Approx, metric) }

func (s *Server) location(customer string) *time.Location {
	c, err := s.opts.Customers.Get(customer)
	if err != nil {
		return time.UTC
	}
	return c.Location()
}

func (s *Server) ask(ctx context.Context, q *query.Query) (*query.Answer, served, error) {
	a, h, err := s.api(sessionFrom(ctx).token).query(ctx, s.opts.ProxyURL, q)
	if err != nil {
		return nil, served{}, err
	}
	return a, servedOf(a, h), nil
}

// askOrLess asks q; when the serving system lacks a metric of it (422),
// it asks again for page views alone and returns the metrics it dropped.
func (s *Server) askOrLess(ctx context.Context, q *query.Query) (*query.Answer, served, []string, error) {
	a, sv, err := s.ask(ctx, q)
	if !unsupported(err) || len(q.Metrics) == 1 {
		return a, sv, nil, err
	}
	first := err
	less := *q
	less.Metrics = []string{"pageviews"}
	if less.OrderBy != "" {
		less.OrderBy = "-pageviews"
	}
	a, sv, err = s.ask(ctx, &less)
	if err != nil {
		return nil, sv, nil, first
	}
	var dropped []string
	for _, m := range q.Metrics {
		if m != "pageviews" {
			dropped = append(dropped, m)
		}
	}
	s.log.Debug("metrics not available from the serving system", "customer", q.Customer, "dropped", dropped, "why", first)
	return a, sv, dropped, nil
}

func has(dropped []string, metric string) bool { return !slices.Contains(dropped, metric) }

// analyticsPage is a customer's analytics: the panels load themselves.
func (s *Server) analyticsPage(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("customer")
	if !s.opts.Customers.Known(c) {
		s.renderError(w, r, http.StatusNotFound, "No customer "+c+".")
		return
	}
	loc := s.location(c)
	s.render(w, r, http.StatusOK, "analytics", map[string]any{
		"Title": c, "Customer": c, "TZ": loc.String(),
		"Refresh":    fmt.Sprintf("every %ds", max(1, int(s.opts.Refresh/time.Second))),
		"Dimensions": breakdowns,
	})
}

// realtimePanel is the last 24 h at 5 minutes, page views and visitors,
// with the same hours a week earlier as the benchmark.
func (s *Server) realtimePanel(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("customer")
	loc := s.location(c)
	to := s.opts.Now().UTC().Truncate(step5m).Add(step5m)
	from := to.Add(-24 * time.Hour)
	week := 7 * 24 * time.Hour
	q := &query.Query{Customer: c, Metrics: []string{"pageviews", "visitors"}, From: from, To: to, Interval: "5m"}
	cur, sv, dropped, err := s.askOrLess(r.Context(), q)
	if err != nil {
		s.panelError(w, "real-time", err)
		return
	}
	prevQ := *q
	prevQ.From, prevQ.To = from.Add(-week), to.Add(-week)
	if len(dropped) > 0 {
		prevQ.Metrics = []string{"pageviews"}
	}
	prev, _, err := s.ask(r.Context(), &prevQ)
	if err != nil {
		s.panelError(w, "real-time benchmark (a week earlier)", err)
		return
	}
	bs := buckets(from, to, step5m)
	spec := chartSpec{Type: "line", Labels: labels(bs, loc, "Mon 15:04"), XTitle: "time (" + loc.String() + ")", YTitle: "per 5 minutes",
		Datasets: []dataset{{Label: "page views", Data: bucketValues(cur, "pageviews", bs, 0), Color: colBlue}}}
	if has(dropped, "visitors") {
		spec.Datasets = append(spec.Datasets, dataset{Label: "visitors" + approxMark(sv, "visitors"), Data: bucketValues(cur, "visitors", bs, 0), Color: colOrange})
	}
	spec.Datasets = append(spec.Datasets, dataset{Label: "page views, a week earlier", Data: bucketValues(prev, "pageviews", bs, week), Color: colBlue, Dashed: true})
	if has(dropped, "visitors") {
		spec.Datasets = append(spec.Datasets, dataset{Label: "visitors, a week earlier", Data: bucketValues(prev, "visitors", bs, week), Color: colOrange, Dashed: true})
	}
	s.fragment(w, http.StatusOK, "realtime", map[string]any{
		"Customer": c, "Served": sv, "Chart": spec, "Points": pointCount(cur), "Dropped": dropped,
		"Pageviews": total(cur, "pageviews"), "PrevPageviews": total(prev, "pageviews"),
		"From": from, "To": to, "Loc": loc, "Updated": s.opts.Now(),
	})
}

func approxMark(sv served, metric string) string {
	if sv.approx(metric) {
		return " (approximate)"
	}
	return ""
}

type topRow struct {
	URL                     string
	Pageviews, Visitors     float64
	Engaged                 float64
	HasEngaged, HasVisitors bool
	Spark                   chartSpec
}

// topPanel is the top posts of the last 24 h: page views, visitors,
// engaged time (where the serving system has it) and an hourly trend.
func (s *Server) topPanel(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("customer")
	loc := s.location(c)
	to := s.opts.Now().UTC().Truncate(step5m).Add(step5m)
	from := to.Add(-24 * time.Hour)
	q := &query.Query{Customer: c, Metrics: []string{"pageviews", "visitors", "engaged_seconds"}, GroupBy: []string{"url"},
		From: from, To: to, Interval: "total", OrderBy: "-pageviews", Limit: 10}
	a, sv, dropped, err := s.askOrLess(r.Context(), q)
	hasEngaged, hasVisitors := has(dropped, "engaged_seconds"), has(dropped, "visitors")
	if unsupported(err) {
		s.fragment(w, http.StatusOK, "hidden", map[string]any{"Why": err.Error()})
		return
	}
	if err != nil {
		s.panelError(w, "top posts", err)
		return
	}
	rows := make([]topRow, 0, len(a.Series))
	var urls []string
	for _, se := range a.Series {
		if len(se.Points) == 0 {
			continue
		}
		p := se.Points[0]
		rows = append(rows, topRow{URL: se.Key["url"], Pageviews: p.Values["pageviews"], Visitors: p.Values["visitors"],
			Engaged: p.Values["engaged_seconds"], HasEngaged: hasEngaged, HasVisitors: hasVisitors})
		urls = append(urls, se.Key["url"])
	}
	if len(urls) > 0 {
		tq := &query.Query{Customer: c, Metrics: []string{"pageviews"}, GroupBy: []string{"url"}, Filters: map[string][]string{"url": urls},
			From: from, To: to, Interval: "5m"}
		trend, _, err := s.ask(r.Context(), tq)
		if err != nil && !unsupported(err) {
			s.panelError(w, "top posts trend", err)
			return
		}
		bs := buckets(from, to, step5m)
		hours := buckets(from, to, time.Hour)
		for i := range rows {
			one := &query.Answer{}
			if trend != nil {
				for _, se := range trend.Series {
					if se.Key["url"] == rows[i].URL {
						one.Series = append(one.Series, se)
					}
				}
			}
			rows[i].Spark = chartSpec{Type: "line", Spark: true, Labels: labels(hours, loc, "Mon 15:04"),
				Datasets: []dataset{{Label: "page views per hour", Data: hourly(bucketValues(one, "pageviews", bs, 0)), Color: colBlue}}}
		}
	}
	s.fragment(w, http.StatusOK, "top", map[string]any{"Rows": rows, "Served": sv, "HasEngaged": hasEngaged, "HasVisitors": hasVisitors,
		"Dropped": dropped, "VisitorsApprox": sv.approx("visitors")})
}

// breakdowns are the ranking panels of the analytics page.
var breakdowns = []struct{ Dim, Title string }{
	{"referrer_category", "Referrer categories"},
	{"referrer_domain", "Top referrer domains"},
	{"campaign", "Campaigns"},
	{"device", "Devices"},
}

// breakdownPanel ranks one dimension's values by page views over 24 h; a
// dimension the serving system lacks (422) hides the panel.
func (s *Server) breakdownPanel(w http.ResponseWriter, r *http.Request) {
	c, dim := r.PathValue("customer"), r.PathValue("dimension")
	title := ""
	for _, b := range breakdowns {
		if b.Dim == dim {
			title = b.Title
		}
	}
	if title == "" {
		s.renderError(w, r, http.StatusNotFound, "No panel "+dim+".")
		return
	}
	to := s.opts.Now().UTC().Truncate(step5m).Add(step5m)
	q := &query.Query{Customer: c, Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{dim},
		From: to.Add(-24 * time.Hour), To: to, Interval: "total", OrderBy: "-pageviews", Limit: 10}
	a, sv, dropped, err := s.askOrLess(r.Context(), q)
	if unsupported(err) {
		s.fragment(w, http.StatusOK, "hidden", map[string]any{"Why": err.Error()})
		return
	}
	if err != nil {
		s.panelError(w, title, err)
		return
	}
	spec := chartSpec{Type: "bar", Horizontal: true, XTitle: "last 24 hours", Datasets: []dataset{{Label: "page views", Color: colBlue}}}
	withVisitors := has(dropped, "visitors")
	if withVisitors {
		spec.Datasets = append(spec.Datasets, dataset{Label: "visitors" + approxMark(sv, "visitors"), Color: colOrange})
	}
	for _, se := range a.Series {
		if len(se.Points) == 0 {
			continue
		}
		v := se.Key[dim]
		if v == "" {
			v = "(none)"
		}
		spec.Labels = append(spec.Labels, v)
		spec.Datasets[0].Data = append(spec.Datasets[0].Data, ptr(se.Points[0].Values["pageviews"]))
		if withVisitors {
			spec.Datasets[1].Data = append(spec.Datasets[1].Data, ptr(se.Points[0].Values["visitors"]))
		}
	}
	s.fragment(w, http.StatusOK, "breakdown", map[string]any{"Title": title, "Dim": dim, "Chart": spec, "Served": sv, "Empty": len(spec.Labels) == 0, "Dropped": dropped})
}

// maxHistoryDays bounds the history's range (two years).
const maxHistoryDays = 731

// historyPage is daily page views and visitors over a chosen range of
// UTC days (the systems' daily buckets).
func (s *Server) historyPage(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("customer")
	today := s.opts.Now().UTC().Truncate(24 * time.Hour)
	from, to, msg := parseRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"), today)
	data := map[string]any{"Title": c + " history", "Customer": c, "From": from.Format(time.DateOnly), "To": to.Add(-24 * time.Hour).Format(time.DateOnly),
		"Min": today.AddDate(0, 0, -maxHistoryDays+1).Format(time.DateOnly), "Max": today.Format(time.DateOnly), "Msg": msg}
	if msg != "" {
		s.render(w, r, http.StatusBadRequest, "history", data)
		return
	}
	a, sv, dropped, err := s.askOrLess(r.Context(), &query.Query{Customer: c, Metrics: []string{"pageviews", "visitors"}, From: from, To: to, Interval: "1d"})
	data["Dropped"] = dropped
	if err != nil {
		s.m.upstream.WithLabelValues(reason(err)).Inc()
		data["Msg"] = "The proxy did not answer: " + err.Error()
		s.render(w, r, http.StatusBadGateway, "history", data)
		return
	}
	bs := buckets(from, to, 24*time.Hour)
	data["Served"], data["Points"] = sv, pointCount(a)
	data["Pageviews"], data["Visitors"] = total(a, "pageviews"), total(a, "visitors")
	data["Chart"] = chartSpec{Type: "line", Labels: labels(bs, time.UTC, "2006-01-02"), XTitle: "day (UTC)", YTitle: "per day",
		Datasets: []dataset{{Label: "page views", Data: bucketValues(a, "pageviews", bs, 0), Color: colBlue}}}
	if has(dropped, "visitors") {
		spec := data["Chart"].(chartSpec)
		spec.Datasets = append(spec.Datasets, dataset{Label: "visitors" + approxMark(sv, "visitors"), Data: bucketValues(a, "visitors", bs, 0), Color: colOrange})
		data["Chart"] = spec
	}
	s.render(w, r, http.StatusOK, "history", data)
}

// parseRange reads the history's from and to (inclusive days,
// YYYY-MM-DD); the default is the last 30 days. It returns [from, to) and
// a message when the input is bad.
func parseRange(f, t string, today time.Time) (from, to time.Time, msg string) {
	to, from = today.Add(24*time.Hour), today.AddDate(0, 0, -29)
	var err error
	if strings.TrimSpace(t) != "" {
		var d time.Time
		if d, err = time.Parse(time.DateOnly, t); err != nil {
			return from, to, fmt.Sprintf("to %q: want a date like 2026-11-25", t)
		}
		to = d.Add(24 * time.Hour)
	}
	if strings.TrimSpace(f) != "" {
		if from, err = time.Parse(time.DateOnly, f); err != nil {
			return today.AddDate(0, 0, -29), to, fmt.Sprintf("from %q: want a date like 2026-11-25", f)
		}
	}
	switch {
	case !from.Before(to):
		return from, to, "from must be on or before to"
	case to.Sub(from) > maxHistoryDays*24*time.Hour:
		return from, to, fmt.Sprintf("at most %d days (two years)", maxHistoryDays)
	case to.After(today.Add(24 * time.Hour)):
		return from, to, "to cannot be in the future"
	}
	return from, to, ""
}
