package legacy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/testkit/querytest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/query"
)

// TestServerErrors checks the status, code and message of every kind of
// query legacy does not answer.
func TestServerErrors(t *testing.T) {
	s, _ := newTestStore(t, Options{})
	customers := testenv.Customers(t)
	run := component.New(component.Options{Name: "legacy-serve", Subsystem: "legacy_api"})
	srv, err := NewServer(s, ServerOptions{Customers: customers, Registerer: run.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(run)
	run.AddReadyCheck("stores", s.Ping)
	ts := httptest.NewServer(run.Handler())
	t.Cleanup(ts.Close)
	now := time.Now().UTC()
	day := now.Truncate(Day).Format(time.RFC3339)
	last24h := `"from":"` + now.Truncate(Step5m).Add(-24*time.Hour).Format(time.RFC3339) + `","to":"` + now.Truncate(Step5m).Format(time.RFC3339) + `"`
	tests := []struct {
		name     string
		body     string
		status   int
		code     string
		contains string
	}{
		{"not json", `{"customer" 1}`, 400, query.CodeInvalid, "not valid JSON"},
		{"unknown field", `{"customer":"acme.example","metric":["pageviews"]}`, 400, query.CodeInvalid, "metric"},
		{"unknown metric", `{"customer":"acme.example","metrics":["clicks"],` + last24h + `,"interval":"5m"}`, 400, query.CodeInvalid, "unknown metric"},
		{"no interval", `{"customer":"acme.example","metrics":["pageviews"],` + last24h + `}`, 400, query.CodeInvalid, "interval"},
		{"unknown customer", `{"customer":"nope.example","metrics":["pageviews"],` + last24h + `,"interval":"5m"}`, 400, query.CodeUnknownCustomer, `nope.example\" is not known to legacy`},
		{"get", "", 405, query.CodeBadRequest, "use POST"},
		{"engaged seconds", `{"customer":"acme.example","metrics":["engaged_seconds"],` + last24h + `,"interval":"5m"}`, 422, query.CodeUnsupported, "legacy does not support metric engaged_seconds"},
		{"group by device", `{"customer":"acme.example","metrics":["pageviews"],"group_by":["device"],` + last24h + `,"interval":"5m"}`, 422, query.CodeUnsupported, "legacy does not support group_by device"},
		{"filter by campaign", `{"customer":"acme.example","metrics":["pageviews"],"filters":{"campaign":["x"]},` + last24h + `,"interval":"5m"}`, 422, query.CodeUnsupported, "filters on campaign"},
		{"5m beyond 8 days", `{"customer":"acme.example","metrics":["pageviews"],"from":"` + now.Truncate(Step5m).Add(-9*Day).Format(time.RFC3339) + `","to":"` + now.Truncate(Step5m).Format(time.RFC3339) + `","interval":"5m"}`, 422, query.CodeUnsupported, "legacy keeps 5-minute buckets for 8 days only"},
		{"visitors at 5m", `{"customer":"acme.example","metrics":["visitors"],` + last24h + `,"interval":"5m"}`, 422, query.CodeUnsupported, "visitors at 5m granularity"},
		{"visitors by referrer", `{"customer":"acme.example","metrics":["visitors"],"group_by":["referrer_category"],"from":"` + day + `","to":"` + now.Truncate(Day).Add(Day).Format(time.RFC3339) + `","interval":"1d"}`, 422, query.CodeUnsupported, "visitors by referrer_category"},
		{"answerable", `{"customer":"acme.example","metrics":["pageviews","visitors"],"group_by":["url"],"from":"` + day + `","to":"` + now.Truncate(Day).Add(Day).Format(time.RFC3339) + `","interval":"1d","order_by":"-pageviews","limit":5}`, 200, "", `"served_by":"legacy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			var err error
			if tt.body == "" {
				resp, err = http.Get(ts.URL + PathQuery)
			} else {
				resp, err = http.Post(ts.URL+PathQuery, "application/json", strings.NewReader(tt.body))
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			if !strings.Contains(string(b), tt.contains) {
				t.Errorf("body %s does not contain %q", b, tt.contains)
			}
			if tt.code == "" {
				return
			}
			var eb query.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code != tt.code {
				t.Errorf("error body %s: code %q, want %q (%v)", b, eb.Error.Code, tt.code, err)
			}
		})
	}
	t.Run("unknown customer contract", func(t *testing.T) { querytest.UnknownCustomer(t, ts.URL, customers) })
	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s = %d", path, resp.StatusCode)
			}
		}
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`brooks_legacy_api_requests_total{code="400",route="/v1/query"}`, `brooks_legacy_query_rejected_total{reason="unknown_customer"}`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}
