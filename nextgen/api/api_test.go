package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/querytest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/query"
)

// start serves an engine over c (and raw, when non-nil) on a real HTTP
// server with the fixture's clock.
func start(t *testing.T, c *esindex.Client, raw queryengine.RawReader) *httptest.Server {
	t.Helper()
	run := component.New(component.Options{Name: "nextgen-serve", Subsystem: "nextgen_api"})
	o := queryengine.DefaultOptions()
	o.Customers, o.Raw, o.Registerer = testenv.Customers(t), raw, run.Registry()
	o.Now = func() time.Time { return enginetest.Now }
	eng, err := queryengine.New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(eng, api.Options{Customers: o.Customers, Registerer: run.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(run)
	run.AddReadyCheck("elasticsearch", c.Ping)
	hs := httptest.NewServer(run.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testenv.Context(t, time.Minute), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// TestErrors checks every way a request is refused, through HTTP: status,
// error code and a message that names the fix.
func TestErrors(t *testing.T) {
	hs := start(t, enginetest.OpenIndex(t), nil)
	const q = `"customer":"acme.example","metrics":["pageviews"]`
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"not json", "POST", "/v1/query", `{"customer": acme}`, 400, "invalid_query", "not valid JSON"},
		{"truncated json", "POST", "/v1/query", `{"customer":`, 400, "invalid_query", "body"},
		{"empty body", "POST", "/v1/query", ``, 400, "invalid_query", "empty"},
		{"unknown field", "POST", "/v1/query", `{` + q + `,"granularity":"5m"}`, 400, "invalid_query", `unknown field "granularity"`},
		{"wrong type", "POST", "/v1/query", `{"customer":"acme.example","metrics":"pageviews"}`, 400, "invalid_query", "metrics"},
		{"bad time", "POST", "/v1/query", `{` + q + `,"from":"yesterday","to":"2026-11-25T00:00:00Z","interval":"5m"}`, 400, "invalid_query", "yesterday"},
		{"no customer", "POST", "/v1/query", `{"metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m"}`, 400, "invalid_query", "customer: is required"},
		{"unknown metric", "POST", "/v1/query", `{"customer":"acme.example","metrics":["clicks"],"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m"}`, 400, "invalid_query", `unknown metric "clicks"`},
		{"unknown dimension", "POST", "/v1/query", `{` + q + `,"group_by":["country"],"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m"}`, 400, "invalid_query", `unknown dimension "country"`},
		{"unaligned from", "POST", "/v1/query", `{` + q + `,"from":"2026-11-25T00:01:00Z","to":"2026-11-25T01:00:00Z","interval":"5m"}`, 400, "invalid_query", "aligned to a 5m bucket"},
		{"to before from", "POST", "/v1/query", `{` + q + `,"from":"2026-11-25T01:00:00Z","to":"2026-11-25T00:00:00Z","interval":"5m"}`, 400, "invalid_query", "must be after from"},
		{"bad interval", "POST", "/v1/query", `{` + q + `,"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"1h"}`, 400, "invalid_query", `unknown interval "1h"`},
		{"limit without order", "POST", "/v1/query", `{` + q + `,"group_by":["url"],"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m","limit":3}`, 400, "invalid_query", "needs order_by"},
		{"order by other metric", "POST", "/v1/query", `{` + q + `,"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m","order_by":"-visitors"}`, 400, "invalid_query", "order_by"},
		{"unknown customer", "POST", "/v1/query", `{"customer":"nope.example","metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-25T01:00:00Z","interval":"5m"}`, 400, "unknown_customer", `customer "nope.example" is not known to nextgen`},
		{"5m past retention", "POST", "/v1/query", `{` + q + `,"from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z","interval":"5m"}`, 422, "unsupported", "use interval 1d"},
		{"total partial day past retention", "POST", "/v1/query", `{` + q + `,"from":"2026-11-01T12:00:00Z","to":"2026-11-25T00:00:00Z","interval":"total"}`, 422, "unsupported", "00:00 UTC"},
		{"1d past retention", "POST", "/v1/query", `{` + q + `,"from":"2020-01-01T00:00:00Z","to":"2020-01-02T00:00:00Z","interval":"1d"}`, 422, "unsupported", "1-day rollups are kept"},
		{"total off 5 minutes", "POST", "/v1/query", `{` + q + `,"from":"2026-11-25T00:00:01Z","to":"2026-11-25T01:00:00Z","interval":"total"}`, 422, "unsupported", "5-minute boundaries"},
		{"query by GET", "GET", "/v1/query", ``, 405, "bad_request", "use POST"},
		{"raw by POST", "POST", "/v1/raw?customer=acme.example&hour=2026-11-25T10:00:00Z", ``, 405, "bad_request", "use GET"},
		{"raw without customer", "GET", "/v1/raw?hour=2026-11-25T10:00:00Z", ``, 400, "invalid_query", "customer: is required"},
		{"raw unknown customer", "GET", "/v1/raw?customer=nope&hour=2026-11-25T10:00:00Z", ``, 400, "unknown_customer", `customer "nope" is not known to nextgen`},
		{"raw bad hour", "GET", "/v1/raw?customer=acme.example&hour=10am", ``, 400, "invalid_query", "not RFC 3339"},
		{"raw hour not on the hour", "GET", "/v1/raw?customer=acme.example&hour=2026-11-25T10:30:00Z", ``, 400, "invalid_query", "not on the hour"},
		{"raw bad limit", "GET", "/v1/raw?customer=acme.example&hour=2026-11-25T10:00:00Z&limit=0", ``, 400, "invalid_query", "from 1 to"},
		{"raw not configured", "GET", "/v1/raw?customer=acme.example&hour=2026-11-25T10:00:00Z", ``, 503, "unavailable", "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, tt.method, hs.URL+tt.path, tt.body)
			var eb query.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("body %q is not an error body: %v", body, err)
			}
			if status != tt.status || eb.Error.Code != tt.code || !strings.Contains(eb.Error.Message, tt.msg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", status, eb.Error.Code, eb.Error.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
	// An unknown customer gets what legacy answers (legacy/server_test.go).
	querytest.UnknownCustomer(t, hs.URL, testenv.Customers(t))
	// Every refusal is counted by reason.
	_, metrics := do(t, "GET", hs.URL+"/metrics", "")
	for _, want := range []string{`brooks_nextgen_api_rejected_total{reason="invalid_query"}`, `brooks_nextgen_api_rejected_total{reason="unsupported"} 4`,
		`brooks_nextgen_api_requests_total{code="422",route="/v1/query"} 4`, `brooks_nextgen_api_rejected_total{reason="unknown_customer"} 3`, `brooks_nextgen_queries_total{interval="5m",outcome="unsupported"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestClientAnswers asks through the Go client every system uses
// (query.Client) and gets the oracle's answer; health endpoints answer.
func TestClientAnswers(t *testing.T) {
	c := enginetest.OpenIndex(t)
	customers := testenv.Customers(t)
	events := enginetest.GenEvents(7, 3000, enginetest.Now)
	enginetest.WriteEvents(t, c, customers, events, enginetest.Now)
	hs := start(t, c, nil)
	client := query.NewClient(hs.URL)
	now5 := enginetest.Now.Truncate(5 * time.Minute)
	for _, q := range []query.Query{
		{Customer: "initech.example", Metrics: query.Metrics, GroupBy: []string{"url"}, From: now5.Add(-24 * time.Hour), To: now5, Interval: "5m", OrderBy: "-pageviews", Limit: 5},
		{Customer: "acme.example", Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"referrer_category"}, From: now5.Add(-24 * time.Hour), To: now5, Interval: "total"},
	} {
		got, err := client.Do(testenv.Context(t, time.Minute), &q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Series) == 0 {
			t.Fatalf("no series for %+v", q)
		}
		if got.Query == nil || got.Query.Customer != q.Customer {
			t.Errorf("answer does not echo the query: %+v", got.Query)
		}
		enginetest.SameAnswer(t, enginetest.Truth(t, customers, events, q), got, q)
	}
	_, err := client.Do(testenv.Context(t, time.Minute), &query.Query{Customer: "acme.example"})
	var ae *query.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != query.CodeInvalid {
		t.Errorf("invalid query through the client: %v", err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		if status, body := do(t, "GET", hs.URL+path, ""); status != want {
			t.Errorf("GET %s = %d %s", path, status, body)
		}
	}
}

// TestRawDrillDown reads raw events back from the real Cassandra through
// GET /v1/raw: one hour of one customer, oldest first, with filters and a
// limit, and the Kafka position of each.
func TestRawDrillDown(t *testing.T) {
	cfg := testenv.Require(t, testenv.Cassandra, testenv.Elasticsearch)
	ks := testenv.Name("qeraw")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	store, err := rawstore.Open(cfg.CassandraHosts, ks, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		store.Close()
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
			s.Close()
		}
	})
	hour := enginetest.Now.Truncate(time.Hour).Add(-2 * time.Hour)
	var recs []rawstore.Record
	for i, e := range enginetest.GenEvents(3, 400, enginetest.Now) {
		if e.Customer != "acme.example" {
			continue
		}
		e.ReceivedAt = hour.Add(time.Duration(len(recs)*7919%3600) * time.Second) // all in one hour, shuffled
		v, _ := e.Marshal()
		recs = append(recs, rawstore.Record{Event: e, Value: v, Partition: int32(i % 6), Offset: int64(i)})
	}
	outs, err := store.Insert(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	fresh := map[string]rawstore.Record{} // the stored record of each eid
	for i, o := range outs {
		if o == rawstore.Fresh {
			fresh[recs[i].Event.EID] = recs[i]
		}
	}
	hs := start(t, enginetest.OpenIndex(t), store)

	get := func(query string) queryengine.RawAnswer {
		t.Helper()
		status, body := do(t, "GET", hs.URL+"/v1/raw?customer=acme.example&hour="+hour.Format(time.RFC3339)+query, "")
		if status != 200 {
			t.Fatalf("GET /v1/raw%s = %d %s", query, status, body)
		}
		var a queryengine.RawAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	all := get("&limit=100000")
	if all.Total != len(fresh) || len(all.Events) != len(fresh) || all.Truncated {
		t.Fatalf("total %d, %d events, truncated %v; want %d stored (one per eid)", all.Total, len(all.Events), all.Truncated, len(fresh))
	}
	for i, e := range all.Events {
		r, ok := fresh[e.EID]
		if !ok || !e.ReceivedAt.Equal(r.Event.ReceivedAt) || e.Partition != r.Partition || e.Offset != r.Offset || e.URL != r.Event.URL {
			t.Fatalf("event %d: %+v, stored %+v", i, e, r)
		}
		if i > 0 && e.ReceivedAt.Before(all.Events[i-1].ReceivedAt) {
			t.Fatalf("event %d at %s before %s: not oldest first", i, e.ReceivedAt, all.Events[i-1].ReceivedAt)
		}
	}
	page := get("&limit=10")
	if page.Total != len(fresh) || len(page.Events) != 10 || !page.Truncated || page.Events[9].EID != all.Events[9].EID {
		t.Errorf("limit 10: total %d, %d events, truncated %v", page.Total, len(page.Events), page.Truncated)
	}
	pvs := get("&type=pv")
	for _, e := range pvs.Events {
		if e.Type != "pv" {
			t.Fatalf("type=pv returned %s", e.Type)
		}
	}
	if pvs.Total == 0 || pvs.Total >= all.Total {
		t.Errorf("type=pv kept %d of %d", pvs.Total, all.Total)
	}
	if other := get("&type=nothing"); other.Total != 0 || other.Events == nil {
		t.Errorf("no match: %+v", other)
	}
}
