package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
	"github.com/brooksdata/brooks/shadow/proxy"
)

// backend is an httptest query API for fault injection: it answers 200
// with a fixed answer naming itself, or fails the way it is told.
type backend struct {
	name string
	mu   sync.Mutex
	mode string // "ok", "500", "422", "hang"
	hits int
}

func (b *backend) set(mode string) {
	b.mu.Lock()
	b.mode = mode
	b.mu.Unlock()
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	mode := b.mode
	b.hits++
	b.mu.Unlock()
	if r.URL.Path == "/healthz" {
		w.Write([]byte("ok\n"))
		return
	}
	q, err := query.Decode(r.Body)
	if err != nil {
		query.WriteQueryError(w, err)
		return
	}
	switch mode {
	case "500":
		query.WriteError(w, http.StatusInternalServerError, query.CodeInternal, b.name+" broke")
	case "503":
		query.WriteError(w, http.StatusServiceUnavailable, query.CodeUnavailable, b.name+" stores down")
	case "422":
		query.WriteError(w, http.StatusUnprocessableEntity, query.CodeUnsupported, b.name+" does not support that")
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	default:
		query.WriteAnswer(w, &query.Answer{ServedBy: b.name, Query: q, Series: []query.Series{{Key: map[string]string{},
			Points: []query.Point{{T: q.From, Values: map[string]float64{"pageviews": 42}}}}}})
	}
}

// offers records what the proxy offered for comparison.
type offers struct {
	mu   sync.Mutex
	jobs []compare.Job
}

func (o *offers) Offer(j compare.Job) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.jobs = append(o.jobs, j)
	return true
}

func (o *offers) take() []compare.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	j := o.jobs
	o.jobs = nil
	return j
}

func queryBody(customer string) string {
	day := time.Now().UTC().Truncate(24 * time.Hour)
	return fmt.Sprintf(`{"customer":%q,"metrics":["pageviews"],"from":%q,"to":%q,"interval":"1d"}`,
		customer, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339))
}

type fixture struct {
	legacy, nextgen *backend
	url             string
	toks            tokenSet
	offers          *offers
}

func newFixture(t *testing.T, legacyURL, nextgenURL string, handlers map[string]http.Handler) *fixture {
	t.Helper()
	f := &fixture{legacy: &backend{name: "legacy"}, nextgen: &backend{name: "nextgen"}, offers: &offers{}}
	if legacyURL == "" {
		legacyURL = serve(t, f.legacy)
	}
	if nextgenURL == "" {
		nextgenURL = serve(t, f.nextgen)
	}
	f.toks = newTokens(t, "a.example", "b.example", "c.example", "d.example")
	o := proxy.DefaultOptions()
	o.LegacyURL, o.NextgenURL, o.Tokens, o.Comparer, o.Timeout = legacyURL, nextgenURL, f.toks.tokens, f.offers, 300*time.Millisecond
	o.States = cutover.Static{Customers: map[string]cutover.State{"a.example": cutover.Legacy, "b.example": cutover.Shadow,
		"c.example": cutover.Live, "d.example": cutover.Complete}}
	o.Handlers = handlers
	p, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.Handler())
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// TestRouting checks who serves each state, the header and body, and which
// answers are offered for comparison.
func TestRouting(t *testing.T) {
	f := newFixture(t, "", "", nil)
	tests := []struct {
		customer, servedBy string
		compared           bool
	}{
		{"a.example", "legacy", false},
		{"b.example", "legacy", true},
		{"c.example", "nextgen", true},
		{"d.example", "nextgen", false},
	}
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			status, h, body := do(t, "POST", f.url+"/v1/query", f.toks.read[tt.customer], queryBody(tt.customer))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var a struct {
				ServedBy string `json:"served_by"`
				Fallback bool   `json:"fallback"`
			}
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			if a.ServedBy != tt.servedBy || h.Get(proxy.HeaderServedBy) != tt.servedBy || a.Fallback || h.Get(proxy.HeaderFallback) != "" {
				t.Errorf("served_by %q, header %q, fallback %v; want %s", a.ServedBy, h.Get(proxy.HeaderServedBy), a.Fallback, tt.servedBy)
			}
			jobs := f.offers.take()
			if got := len(jobs) == 1; got != tt.compared {
				t.Fatalf("offered %d comparisons, want compared=%v", len(jobs), tt.compared)
			}
			if tt.compared && (jobs[0].ServedBy != tt.servedBy || string(jobs[0].Body) != string(body) || jobs[0].Query.Customer != tt.customer) {
				t.Errorf("offered %+v", jobs[0])
			}
		})
	}
}

// TestFallback injects failures of the serving system: in shadow and live
// the other system answers, marked; in legacy and complete the failure is
// a 502; a 4xx is passed through untouched and never falls back.
func TestFallback(t *testing.T) {
	tests := []struct {
		name          string
		fail          string // mode of the failing backend
		refused       bool
		customer      string
		status        int
		servedBy      string
		fallback      bool
		wantErrorCode string
	}{
		{"shadow 500", "500", false, "b.example", 200, "nextgen", true, ""},
		{"shadow 503", "503", false, "b.example", 200, "nextgen", true, ""},
		{"shadow timeout", "hang", false, "b.example", 200, "nextgen", true, ""},
		{"shadow refused", "", true, "b.example", 200, "nextgen", true, ""},
		{"live 500", "500", false, "c.example", 200, "legacy", true, ""},
		{"live refused", "", true, "c.example", 200, "legacy", true, ""},
		{"shadow 422 passed through", "422", false, "b.example", 422, "legacy", false, query.CodeUnsupported},
		{"legacy 500 no fallback", "500", false, "a.example", 502, "", false, query.CodeUnavailable},
		{"complete refused no fallback", "", true, "d.example", 502, "", false, query.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serving := "legacy"
			if tt.customer == "c.example" || tt.customer == "d.example" {
				serving = "nextgen"
			}
			var lu, nu string
			if tt.refused && serving == "legacy" {
				lu = refusedURL(t)
			}
			if tt.refused && serving == "nextgen" {
				nu = refusedURL(t)
			}
			f := newFixture(t, lu, nu, nil)
			if tt.fail != "" {
				map[string]*backend{"legacy": f.legacy, "nextgen": f.nextgen}[serving].set(tt.fail)
			}
			start := time.Now()
			status, h, body := do(t, "POST", f.url+"/v1/query", f.toks.read[tt.customer], queryBody(tt.customer))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("answer took %s", el)
			}
			if tt.wantErrorCode != "" {
				var eb query.ErrorBody
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.wantErrorCode {
					t.Errorf("body %s: want error code %s", body, tt.wantErrorCode)
				}
			}
			if tt.status != 200 {
				if tt.status == 422 && h.Get(proxy.HeaderServedBy) != serving {
					t.Errorf("422 header %q, want %s", h.Get(proxy.HeaderServedBy), serving)
				}
				if len(f.offers.take()) != 0 {
					t.Error("an error answer was offered for comparison")
				}
				return
			}
			var a map[string]any
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatal(err)
			}
			if a["served_by"] != tt.servedBy || h.Get(proxy.HeaderServedBy) != tt.servedBy {
				t.Errorf("served_by %v, header %q; want %s", a["served_by"], h.Get(proxy.HeaderServedBy), tt.servedBy)
			}
			if (a["fallback"] == true) != tt.fallback || (h.Get(proxy.HeaderFallback) == "true") != tt.fallback {
				t.Errorf("fallback %v, header %q; want %v", a["fallback"], h.Get(proxy.HeaderFallback), tt.fallback)
			}
			if len(f.offers.take()) != 0 {
				t.Error("a fallback answer was offered for comparison")
			}
		})
	}
}

// TestAuth is the 401/403 table through every endpoint: a customer token
// never reads another customer's data, nor the evidence.
func TestAuth(t *testing.T) {
	store := newEvidence(t)
	f := newFixture(t, "", "", evidence.Handlers(store, evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}, nil))
	endpoints := []struct {
		name, method, path string
		body               string
		admin              bool // admin only
	}{
		{"query", "POST", "/v1/query", queryBody("b.example"), false},
		{"summary", "GET", "/v1/shadow/summary?customer=b.example", "", true},
		{"mismatches", "GET", "/v1/shadow/mismatches?customer=b.example", "", true},
	}
	tokens := []struct {
		name, token string
		header      string // raw Authorization header, when set
		want        map[bool]int
	}{
		{"no token", "", "", map[bool]int{false: 401, true: 401}},
		{"basic auth", "", "Basic YWRtaW46YWRtaW4=", map[bool]int{false: 401, true: 401}},
		{"empty bearer", "", "Bearer ", map[bool]int{false: 401, true: 401}},
		{"wrong token", "brk_" + strings.Repeat("A", 43), "", map[bool]int{false: 401, true: 401}},
		{"own customer", f.toks.read["b.example"], "", map[bool]int{false: 200, true: 403}},
		{"other customer", f.toks.read["c.example"], "", map[bool]int{false: 403, true: 403}},
		{"admin", f.toks.admin, "", map[bool]int{false: 200, true: 200}},
	}
	for _, ep := range endpoints {
		for _, tk := range tokens {
			t.Run(ep.name+"/"+tk.name, func(t *testing.T) {
				req, _ := http.NewRequest(ep.method, f.url+ep.path, strings.NewReader(ep.body))
				switch {
				case tk.header != "":
					req.Header.Set("Authorization", tk.header)
				case tk.token != "":
					req.Header.Set("Authorization", "Bearer "+tk.token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var eb query.ErrorBody
				json.NewDecoder(resp.Body).Decode(&eb)
				resp.Body.Close()
				if want := tk.want[ep.admin]; resp.StatusCode != want {
					t.Fatalf("status %d, want %d (%s)", resp.StatusCode, want, eb.Error.Message)
				}
				if resp.StatusCode == 401 && (eb.Error.Code != query.CodeUnauthorized || resp.Header.Get("WWW-Authenticate") == "") {
					t.Errorf("401 without code/WWW-Authenticate: %+v", eb)
				}
				if resp.StatusCode == 403 && eb.Error.Code != query.CodeForbidden {
					t.Errorf("403 code %q", eb.Error.Code)
				}
				if tk.token != "" && strings.Contains(eb.Error.Message, tk.token) {
					t.Error("the error message repeats the token")
				}
			})
		}
	}
	t.Run("liveness needs no token, metrics an admin one", func(t *testing.T) {
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{"/healthz", "", 200},
			{"/metrics", "", 401},
			{"/metrics", f.toks.read["b.example"], 403},
			{"/metrics", f.toks.admin, 200},
		} {
			if status, _, _ := do(t, "GET", f.url+c.path, c.token, ""); status != c.want {
				t.Errorf("%s: %d, want %d", c.path, status, c.want)
			}
		}
	})
}
