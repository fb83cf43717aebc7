package dashboards

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// parseKey reads a query.KeyString ("dim=value|dim=value"; "" is the
// site) back into a series key.
func parseKey(s string) (map[string]string, error) {
	key := map[string]string{}
	if s == "" || s == "{}" {
		return key, nil
	}
	for part := range strings.SplitSeq(s, "|") {
		d, v, ok := strings.Cut(part, "=")
		if !ok || d == "" {
			return nil, fmt.Errorf("series %q: want dim=value|dim=value", s)
		}
		key[d] = v
	}
	return key, nil
}

// diffPage draws, for a metric, an hour and a series key, the served
// answer (through the proxy) with legacy's and nextgen's values of the
// mismatched buckets (the comparer's evidence) over it, mismatches
// highlighted; each bucket links to its raw events.
func (s *Server) diffPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := r.URL.Query()
	c, metric, series := p.Get("customer"), p.Get("metric"), p.Get("series")
	if !s.opts.Customers.Known(c) {
		s.renderError(w, r, http.StatusBadRequest, "customer "+strconv.Quote(c)+": not a customer of customers.yaml")
		return
	}
	if !slices.Contains(query.Metrics, metric) {
		s.renderError(w, r, http.StatusBadRequest, "metric "+strconv.Quote(metric)+": want one of "+strings.Join(query.Metrics, ", "))
		return
	}
	key, err := parseKey(series)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	bucket, err := time.Parse(time.RFC3339, p.Get("bucket"))
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "bucket: want an RFC 3339 time (2026-11-25T10:05:00Z)")
		return
	}
	hour := bucket.UTC().Truncate(time.Hour)
	loc := s.location(c)
	data := map[string]any{"Title": "diff · " + c, "Customer": c, "Metric": metric, "Series": series, "Hour": hour, "Loc": loc, "Bucket": bucket.UTC()}

	// The comparer's evidence: every recorded mismatch of this cell family.
	var ms struct {
		Mismatches []evidence.Mismatch `json:"mismatches"`
	}
	a := s.api(sessionFrom(ctx).token)
	if err := a.getJSON(ctx, s.opts.ProxyURL, evidence.PathMismatches, url.Values{"customer": {c}, "all": {"true"}}, &ms); err != nil {
		data["EvidenceErr"] = unavailable("shadow comparer", err)
	}
	bs := buckets(hour, hour.Add(time.Hour), step5m)
	legacy, nextgen := make([]*float64, len(bs)), make([]*float64, len(bs))
	marked := make([]bool, len(bs))
	for _, m := range ms.Mismatches {
		if m.Cell.Metric != metric || m.Series != series {
			continue
		}
		i := int(m.Cell.Bucket.Sub(hour) / step5m)
		if i < 0 || i >= len(bs) || !m.Cell.Bucket.Equal(bs[i]) {
			continue
		}
		legacy[i], nextgen[i], marked[i] = ptr(m.Cell.Legacy), ptr(m.Cell.Nextgen), true
	}
	q := &query.Query{Customer: c, Metrics: []string{metric}, From: hour, To: hour.Add(time.Hour), Interval: "5m"}
	if len(key) > 0 {
		q.Filters = map[string][]string{}
		for d, v := range key {
			q.Filters[d] = []string{v}
		}
	}
	ans, sv, err := s.ask(ctx, q)
	if err != nil {
		data["ServedErr"] = "the proxy did not answer: " + err.Error()
	}
	servedVals := bucketValues(ans, metric, bs, 0)
	data["Served"] = sv
	data["Chart"] = chartSpec{Type: "line", Labels: labels(bs, loc, "15:04"), XTitle: "5-minute bucket (" + loc.String() + ")", YTitle: metric,
		Datasets: []dataset{
			{Label: "served now (" + sv.By + ")", Data: servedVals, Color: colGrey},
			{Label: "legacy (evidence)", Data: legacy, Color: colBlue, Highlight: marked},
			{Label: "nextgen (evidence)", Data: nextgen, Color: colGreen, Highlight: marked},
		}}
	type row struct {
		Bucket                  time.Time
		Served, Legacy, Nextgen *float64
		Mismatch                bool
	}
	var rows []row
	for i, b := range bs {
		rows = append(rows, row{Bucket: b, Served: servedVals[i], Legacy: legacy[i], Nextgen: nextgen[i], Mismatch: marked[i]})
	}
	data["Rows"], data["URL"] = rows, key["url"]
	s.render(w, r, http.StatusOK, "diff", data)
}

// rawPageSize is the raw events listed per page.
const rawPageSize = 50

// rawPage lists the page views behind one 5-minute bucket from nextgen's
// raw store (GET /v1/raw of its hour), paged.
func (s *Server) rawPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := r.URL.Query()
	c := p.Get("customer")
	if !s.opts.Customers.Known(c) {
		s.renderError(w, r, http.StatusBadRequest, "customer "+strconv.Quote(c)+": not a customer of customers.yaml")
		return
	}
	bucket, err := time.Parse(time.RFC3339, p.Get("bucket"))
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "bucket: want an RFC 3339 time (2026-11-25T10:05:00Z)")
		return
	}
	bucket = bucket.UTC().Truncate(step5m)
	page, _ := strconv.Atoi(p.Get("page"))
	page = max(page, 1)
	u, typ := p.Get("url"), p.Get("type")
	if typ == "" {
		typ = "pv"
	}
	data := map[string]any{"Title": "raw events · " + c, "Customer": c, "Bucket": bucket, "URL": u, "Type": typ, "Loc": s.location(c), "Page": page}
	params := url.Values{"customer": {c}, "hour": {bucket.Truncate(time.Hour).Format(time.RFC3339)}, "type": {typ}, "limit": {"100000"}}
	if u != "" {
		params.Set("url", u)
	}
	var ans queryengine.RawAnswer
	if err := s.api("").getJSON(ctx, s.opts.RawURL, "/v1/raw", params, &ans); err != nil {
		s.m.upstream.WithLabelValues(reason(err)).Inc()
		data["Err"] = unavailable("nextgen raw drill-down", err)
		s.render(w, r, http.StatusOK, "raw", data)
		return
	}
	var in []queryengine.RawEvent
	for _, e := range ans.Events {
		if t := e.ReceivedAt.UTC(); !t.Before(bucket) && t.Before(bucket.Add(step5m)) {
			in = append(in, e)
		}
	}
	pages := max(1, (len(in)+rawPageSize-1)/rawPageSize)
	page = min(page, pages)
	lo := (page - 1) * rawPageSize
	data["Events"], data["Count"], data["Page"], data["Pages"] = in[lo:min(lo+rawPageSize, len(in))], len(in), page, pages
	data["Truncated"] = ans.Truncated
	if page > 1 {
		data["Prev"] = page - 1
	}
	if page < pages {
		data["Next"] = page + 1
	}
	s.render(w, r, http.StatusOK, "raw", data)
}
