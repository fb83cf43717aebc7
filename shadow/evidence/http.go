package evidence

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Paths of the evidence endpoints (admin token: see shadow/proxy).
const (
	PathSummary    = "/v1/shadow/summary"
	PathMismatches = "/v1/shadow/mismatches"
)

// ParseSince reads a --since / ?since= value: a duration back from now
// ("24h", "7d") or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.Add(-24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == d {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("since %q: want a positive duration (24h, 90m, 7d) or an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// Handlers returns the console's endpoints over r:
//
//	GET /v1/shadow/summary?customer=C&since=24h     the Summary (JSON)
//	GET /v1/shadow/mismatches?customer=C[&all=true] open (or all) mismatches
//
// They need an admin token: the proxy mounts them on its component
// runner, which requires one for every route not marked otherwise.
func Handlers(r Reader, o SummaryOptions, now func() time.Time) map[string]http.Handler {
	if now == nil {
		now = time.Now
	}
	customer := func(w http.ResponseWriter, req *http.Request) (string, bool) {
		c := strings.TrimSpace(req.URL.Query().Get("customer"))
		if c == "" {
			query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, "customer is required (?customer=acme.example)")
			return "", false
		}
		return c, true
	}
	return map[string]http.Handler{
		"GET " + PathSummary: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			c, ok := customer(w, req)
			if !ok {
				return
			}
			until := now().UTC()
			since, err := ParseSince(req.URL.Query().Get("since"), until)
			if err != nil {
				query.WriteError(w, http.StatusBadRequest, query.CodeBadRequest, err.Error())
				return
			}
			s, err := Summarize(req.Context(), r, c, since, until, o)
			if err != nil {
				query.WriteError(w, http.StatusServiceUnavailable, query.CodeUnavailable, "evidence store: "+err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			s.JSON(w)
		}),
		"GET " + PathMismatches: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			c, ok := customer(w, req)
			if !ok {
				return
			}
			ms, err := r.Mismatches(req.Context(), c, req.URL.Query().Get("all") == "true")
			if err != nil {
				query.WriteError(w, http.StatusServiceUnavailable, query.CodeUnavailable, "evidence store: "+err.Error())
				return
			}
			if ms == nil {
				ms = []Mismatch{}
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(struct {
				Customer   string     `json:"customer"`
				Mismatches []Mismatch `json:"mismatches"`
			}{c, ms})
		}),
	}
}
