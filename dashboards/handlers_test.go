package dashboards_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// TestDashboards runs the whole stack once with loadgen traffic and checks
// every page and panel over HTTP, then in headless Chromium.
func TestDashboards(t *testing.T) {
	st := runStack(t, loadgen.Options{Seed: 14, Events: 3000, Visitors: 300})
	mm := st.seedMismatch(t)
	st.seedCertificate(t)
	t.Run("handlers", func(t *testing.T) { st.handlerChecks(t, mm) })
	t.Run("browser", func(t *testing.T) { st.browserChecks(t, mm) })
}

// seedCertificate stores a clean certificate of acme's yesterday in the
// audit's store, for the console's "last audit" column.
func (st *stack) seedCertificate(t *testing.T) {
	t.Helper()
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	c := &certify.Certificate{Schema: certify.Schema, Customer: acme, Day: day.Format(certify.DayLayout), IssuedAt: time.Now().UTC(),
		CodeVersion: "test", Verdict: "clean", Clean: true, Replay: certify.ReplaySummary{Counts: map[string]int{"both_right": 12}, Compared: 12, Events: 3000}}
	var err error
	if c.Digest, err = c.Sum(); err != nil {
		t.Fatal(err)
	}
	if err := st.certificates.Save(testenv.Context(t, time.Minute), c); err != nil {
		t.Fatal(err)
	}
	st.cert = c
}

// seededMismatch is the evidence recorded for the diff view: a real
// difference of the two systems (legacy counts posts only) in one bucket
// of acme's site page views.
type seededMismatch struct {
	bucket          time.Time
	legacy, nextgen float64
}

func (st *stack) seedMismatch(t *testing.T) seededMismatch {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	to := time.Now().UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
	q := &query.Query{Customer: acme, Metrics: []string{"pageviews"}, From: to.Add(-2 * time.Hour), To: to, Interval: "5m"}
	la, err := st.legacy.Do(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	na, err := st.nextgen.Do(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	lv := map[time.Time]float64{}
	for _, se := range la.Series {
		for _, p := range se.Points {
			lv[p.T] = p.Values["pageviews"]
		}
	}
	var m seededMismatch
	for _, se := range na.Series {
		for _, p := range se.Points {
			if v := p.Values["pageviews"]; v != lv[p.T] && v > m.nextgen {
				m = seededMismatch{bucket: p.T, legacy: lv[p.T], nextgen: v}
			}
		}
	}
	if m.bucket.IsZero() {
		t.Fatal("legacy and nextgen agree on every bucket of acme's site page views: loadgen sent no non-post page")
	}
	c := &evidence.Comparison{ID: testenv.Name("cmp"), Customer: acme, At: time.Now(), Shape: "site_5m", Source: "matrix", ServedBy: "nextgen",
		Query: q, Verdict: "mismatch", Tally: diff.Tally{Cells: 1, Compared: 1, ValueDrift: 1}, SettledBefore: to, Complete: true,
		Mismatches: []evidence.Cell{{Series: map[string]string{}, Bucket: m.bucket, Metric: "pageviews", Class: "value_drift", Legacy: m.legacy, Nextgen: m.nextgen}}}
	if err := st.evidence.Record(ctx, c); err != nil {
		t.Fatal(err)
	}
	return m
}

// client is a browser-like HTTP client: a cookie jar, redirects not
// followed.
func client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t testing.TB, c *http.Client, u string, hx bool) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	return send(t, c, req)
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, c, req)
}

func send(t testing.TB, c *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// signedIn signs in with token and returns the client holding the cookie.
func (st *stack) signedIn(t testing.TB, token, wantHome string) *http.Client {
	t.Helper()
	c := client(t)
	code, h, body := post(t, c, st.dashURL+"/signin", url.Values{"token": {token}})
	if code != http.StatusSeeOther || h.Get("Location") != wantHome {
		t.Fatalf("sign in: %d to %q, want 303 to %s: %s", code, h.Get("Location"), wantHome, body)
	}
	ck := h.Get("Set-Cookie")
	if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Errorf("session cookie %q: want HttpOnly and SameSite=Strict", ck)
	}
	return c
}

var chartAttr = regexp.MustCompile(`id="([a-z-]+)" data-chart="([^"]*)"`)

// chartsIn returns the chart specs of a page by canvas id.
func chartsIn(t testing.TB, body string) map[string]chartJSON {
	t.Helper()
	out := map[string]chartJSON{}
	for _, m := range chartAttr.FindAllStringSubmatch(body, -1) {
		var c chartJSON
		if err := json.Unmarshal([]byte(html.UnescapeString(m[2])), &c); err != nil {
			t.Fatalf("chart %s: %v", m[1], err)
		}
		out[m[1]] = c
	}
	return out
}

type chartJSON struct {
	Labels   []string `json:"labels"`
	Datasets []struct {
		Label     string     `json:"label"`
		Data      []*float64 `json:"data"`
		Highlight []bool     `json:"highlight"`
	} `json:"datasets"`
}

func (c chartJSON) sum(i int) (s float64, nonzero int) {
	for _, v := range c.Datasets[i].Data {
		if v != nil {
			s += *v
			if *v != 0 {
				nonzero++
			}
		}
	}
	return s, nonzero
}

func (st *stack) handlerChecks(t *testing.T, mm seededMismatch) {
	ctx := testenv.Context(t, 2*time.Minute)
	t.Run("no token goes to sign-in", func(t *testing.T) {
		c := client(t)
		for _, p := range []string{"/", "/c/" + acme, "/console", "/console/ledger"} {
			if code, h, _ := get(t, c, st.dashURL+p, false); code != http.StatusSeeOther || h.Get("Location") != "/signin" {
				t.Errorf("GET %s without a session: %d to %q, want 303 to /signin", p, code, h.Get("Location"))
			}
		}
		if code, h, _ := get(t, c, st.dashURL+"/c/"+acme+"/panel/realtime", true); code != http.StatusUnauthorized || h.Get("HX-Redirect") != "/signin" {
			t.Errorf("htmx panel without a session: %d, HX-Redirect %q", code, h.Get("HX-Redirect"))
		}
		if code, _, body := get(t, c, st.dashURL+"/signin", false); code != 200 || !strings.Contains(body, `name="token"`) {
			t.Errorf("sign-in page: %d %s", code, body)
		}
		if code, _, body := post(t, c, st.dashURL+"/signin", url.Values{"token": {"brk_not-a-token"}}); code != http.StatusUnauthorized || !strings.Contains(body, "refused") {
			t.Errorf("bad token: %d %s", code, body)
		}
		if code, _, _ := post(t, c, st.dashURL+"/signin", url.Values{"token": {""}}); code != http.StatusBadRequest {
			t.Errorf("empty token: %d, want 400", code)
		}
	})

	cust := st.signedIn(t, st.read[acme], "/c/"+acme)
	t.Run("customer token stays in its customer", func(t *testing.T) {
		for _, p := range []string{"/c/" + globex, "/c/" + globex + "/panel/realtime", "/c/" + globex + "/history", "/console", "/console/customers/" + acme,
			"/console/diff?customer=" + acme, "/console/raw?customer=" + acme, "/console/ledger"} {
			if code, _, _ := get(t, cust, st.dashURL+p, false); code != http.StatusForbidden {
				t.Errorf("customer token GET %s: %d, want 403", p, code)
			}
		}
		if code, h, _ := get(t, cust, st.dashURL+"/", false); code != http.StatusSeeOther || h.Get("Location") != "/c/"+acme {
			t.Errorf("GET / with a customer session: %d to %q", code, h.Get("Location"))
		}
	})

	t.Run("analytics page", func(t *testing.T) {
		code, _, body := get(t, cust, st.dashURL+"/c/"+acme, false)
		if code != 200 || !strings.Contains(body, `hx-get="/c/acme.example/panel/realtime"`) || !strings.Contains(body, "America/New_York") {
			t.Fatalf("analytics page: %d %s", code, body)
		}
		if code, _, body := get(t, cust, st.dashURL+"/assets/app.js", false); code != 200 || len(body) < 10000 {
			t.Errorf("app.js: %d, %d bytes", code, len(body))
		}
	})

	t.Run("real-time panel is the proxy's answer", func(t *testing.T) {
		code, _, body := get(t, cust, st.dashURL+"/c/"+acme+"/panel/realtime", true)
		if code != 200 {
			t.Fatalf("realtime: %d %s", code, body)
		}
		to := time.Now().UTC().Truncate(5 * time.Minute).Add(5 * time.Minute)
		a, err := query.NewClient(st.proxyURL, query.WithToken(st.read[acme])).Do(ctx, &query.Query{Customer: acme, Metrics: []string{"pageviews", "visitors"}, From: to.Add(-24 * time.Hour), To: to, Interval: "5m"})
		if err != nil {
			t.Fatal(err)
		}
		ch := chartsIn(t, body)["realtime-chart"]
		if len(ch.Labels) != 288 || len(ch.Datasets) != 4 {
			t.Fatalf("realtime chart: %d labels, %d datasets; want 288 and 4", len(ch.Labels), len(ch.Datasets))
		}
		s, nz := ch.sum(0)
		if s != sumOf(a, "pageviews") || nz != len(a.Series[0].Points) || s != float64(st.exp.Total(func(k loadgen.Key) bool { return k.Customer == acme }).Pageviews) {
			t.Errorf("chart page views %v in %d buckets; proxy %v in %d points", s, nz, sumOf(a, "pageviews"), len(a.Series[0].Points))
		}
		if !strings.Contains(body, `data-points="`+strconv.Itoa(len(a.Series[0].Points))+`"`) || !strings.Contains(body, "served by nextgen") {
			t.Errorf("realtime: want data-points %d and the nextgen badge: %s", len(a.Series[0].Points), body[:min(len(body), 600)])
		}
	})

	t.Run("real-time panel of a legacy customer drops what legacy lacks", func(t *testing.T) {
		g := st.signedIn(t, st.read[globex], "/c/"+globex)
		code, _, body := get(t, g, st.dashURL+"/c/"+globex+"/panel/realtime", true)
		ch := chartsIn(t, body)["realtime-chart"]
		if code != 200 || len(ch.Datasets) != 2 || !strings.Contains(body, "served by legacy") || !strings.Contains(body, "visitors") {
			t.Fatalf("realtime (legacy): %d, %d datasets: %s", code, len(ch.Datasets), body)
		}
		c, _ := st.customers.Get(globex)
		if s, _ := ch.sum(0); s != float64(st.exp.Total(func(k loadgen.Key) bool { return k.Customer == globex && c.IsPost(k.URL) }).Pageviews) {
			t.Errorf("legacy real-time page views %v, loadgen sent %d to posts", s, st.exp.Total(func(k loadgen.Key) bool { return k.Customer == globex && c.IsPost(k.URL) }).Pageviews)
		}
	})

	t.Run("top posts", func(t *testing.T) {
		code, _, body := get(t, cust, st.dashURL+"/c/"+acme+"/panel/top", true)
		if code != 200 || !strings.Contains(body, "Engaged") || !strings.Contains(body, "https://acme.example/") || !strings.Contains(body, `id="spark-0"`) {
			t.Errorf("top: %d %s", code, body)
		}
		g := st.signedIn(t, st.read[globex], "/c/"+globex)
		code, _, body = get(t, g, st.dashURL+"/c/"+globex+"/panel/top", true)
		if code != 200 || strings.Contains(body, "<th scope=\"col\" class=\"n\">Engaged") || !strings.Contains(body, "served by legacy") || !strings.Contains(body, "Not available from legacy: visitors, engaged_seconds") {
			t.Errorf("top (legacy, no engaged time): %d %s", code, body)
		}
	})

	t.Run("breakdowns, hidden where the system lacks them", func(t *testing.T) {
		for _, dim := range []string{"referrer_category", "referrer_domain", "campaign", "device"} {
			code, _, body := get(t, cust, st.dashURL+"/c/"+acme+"/panel/"+dim, true)
			if code != 200 || !strings.Contains(body, `id="bd-`+dim+`"`) {
				t.Errorf("%s (nextgen): %d %s", dim, code, body)
			}
		}
		g := st.signedIn(t, st.read[globex], "/c/"+globex)
		for dim, hidden := range map[string]bool{"referrer_category": false, "campaign": true, "device": true} {
			code, _, body := get(t, g, st.dashURL+"/c/"+globex+"/panel/"+dim, true)
			if code != 200 || strings.Contains(body, "panel-hidden") != hidden {
				t.Errorf("%s (legacy): %d, hidden want %v: %s", dim, code, hidden, body)
			}
		}
		if code, _, _ := get(t, cust, st.dashURL+"/c/"+acme+"/panel/nope", true); code != http.StatusNotFound {
			t.Errorf("unknown panel: %d", code)
		}
	})

	t.Run("history", func(t *testing.T) {
		today := time.Now().UTC().Format(time.DateOnly)
		code, _, body := get(t, cust, st.dashURL+"/c/"+acme+"/history?from="+time.Now().UTC().AddDate(0, 0, -6).Format(time.DateOnly)+"&to="+today, false)
		ch := chartsIn(t, body)["history-chart"]
		if code != 200 || len(ch.Labels) != 7 {
			t.Fatalf("history: %d, %d labels: %s", code, len(ch.Labels), body)
		}
		if s, _ := ch.sum(0); s != float64(st.exp.Total(func(k loadgen.Key) bool { return k.Customer == acme }).Pageviews) {
			t.Errorf("history page views %v, loadgen sent %d", s, st.exp.Total(func(k loadgen.Key) bool { return k.Customer == acme }).Pageviews)
		}
		for _, bad := range []string{"from=2020-01-01&to=" + today, "from=x", "from=" + today + "&to=2020-01-01"} {
			if code, _, body := get(t, cust, st.dashURL+"/c/"+acme+"/history?"+bad, false); code != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
				t.Errorf("history ?%s: %d", bad, code)
			}
		}
	})

	adm := st.signedIn(t, st.admin, "/console")
	t.Run("console", func(t *testing.T) {
		code, _, body := get(t, adm, st.dashURL+"/console", false)
		if code != 200 || strings.Contains(body, "not available") || !strings.Contains(body, "/console/customers/globex.example") ||
			!strings.Contains(body, "bucket of") {
			t.Fatalf("console: %d %s", code, body)
		}
		if !regexp.MustCompile(`<td class="n">1</td>`).MatchString(body) {
			t.Errorf("console: want acme's 1 open mismatch in the table: %s", body)
		}
		// The controller's state of every customer, and acme's certificate
		// (the audit API's newest run) in its row.
		if n := strings.Count(body, "<td>legacy</td>"); n != len(st.customers.IDs()) {
			t.Errorf("console: %d customers in state legacy, want all %d: %s", n, len(st.customers.IDs()), body)
		}
		cert := st.cert
		if !regexp.MustCompile(`acme\.example</a></th>(?s:.)*?<td>` + cert.Day + ` clean · sha256 ` + cert.Digest[:12] + `</td>`).MatchString(body) {
			t.Errorf("console: want acme's last audit %s clean %s: %s", cert.Day, cert.Digest[:12], body)
		}
		code, _, body = get(t, adm, st.dashURL+"/console/customers/"+acme, false)
		if code != 200 || !strings.Contains(body, "diff →") || !strings.Contains(body, `id="cutover-state">legacy<`) || !strings.Contains(body, "nextgen_data") {
			t.Fatalf("customer console: %d %s", code, body)
		}
		code, h, _ := post(t, adm, st.dashURL+"/console/customers/"+acme+"/advance", url.Values{"reason": {""}})
		if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "reason+is+required") {
			t.Errorf("advance without a reason: %d %q", code, h.Get("Location"))
		}
		code, h, _ = post(t, adm, st.dashURL+"/console/customers/"+acme+"/advance", url.Values{"reason": {"nextgen has data"}, "from": {"legacy"}})
		if loc, _ := url.QueryUnescape(h.Get("Location")); code != http.StatusSeeOther || !strings.Contains(loc, "advance recorded: nextgen has data (now shadow)") {
			t.Errorf("advance legacy to shadow: %d %q", code, loc)
		}
		// Shadow to live: the shadow gates fail (one open mismatch, too few
		// settled comparisons); without force the controller refuses.
		code, h, _ = post(t, adm, st.dashURL+"/console/customers/"+acme+"/advance", url.Values{"reason": {"try live"}, "from": {"shadow"}})
		if loc, _ := url.QueryUnescape(h.Get("Location")); code != http.StatusSeeOther || !strings.Contains(loc, "advance failed: cutover controller:") {
			t.Errorf("advance past failing gates without force: %d %q", code, loc)
		}
		code, h, _ = post(t, adm, st.dashURL+"/console/customers/"+acme+"/advance", url.Values{"reason": {"stale from"}, "from": {"legacy"}})
		if loc, _ := url.QueryUnescape(h.Get("Location")); code != http.StatusSeeOther || !strings.Contains(loc, "advance failed") {
			t.Errorf("advance from a state acme left: %d %q", code, loc)
		}
		code, h, _ = post(t, adm, st.dashURL+"/console/customers/"+acme+"/rollback", url.Values{"reason": {"back for the browser test"}, "from": {"shadow"}})
		if loc, _ := url.QueryUnescape(h.Get("Location")); code != http.StatusSeeOther || !strings.Contains(loc, "rollback recorded: back for the browser test (now legacy)") {
			t.Errorf("rollback: %d %q", code, loc)
		}
		code, _, body = get(t, adm, st.dashURL+"/console/customers/"+acme, false)
		if code != 200 || !strings.Contains(body, "nextgen has data") || !strings.Contains(body, "back for the browser test") {
			t.Errorf("customer console history: %d %s", code, body)
		}
		code, _, body = get(t, adm, st.dashURL+"/console/ledger", false)
		if code != 200 || strings.Contains(body, "not available") || !strings.Contains(body, "<td>collector</td>") || !strings.Contains(body, "<td>cassandra</td>") ||
			!regexp.MustCompile(`class="cell (ok|open)"`).MatchString(body) {
			t.Errorf("ledger: %d %s", code, body)
		}
	})

	t.Run("diff and raw drill-down", func(t *testing.T) {
		u := st.dashURL + "/console/diff?customer=" + acme + "&metric=pageviews&series=&bucket=" + url.QueryEscape(mm.bucket.Format(time.RFC3339))
		code, _, body := get(t, adm, u, false)
		ch := chartsIn(t, body)["diff-chart"]
		if code != 200 || len(ch.Datasets) != 3 || len(ch.Labels) != 12 {
			t.Fatalf("diff: %d %s", code, body)
		}
		i := int(mm.bucket.Sub(mm.bucket.Truncate(time.Hour)) / (5 * time.Minute))
		if !ch.Datasets[1].Highlight[i] || *ch.Datasets[1].Data[i] != mm.legacy || *ch.Datasets[2].Data[i] != mm.nextgen || *ch.Datasets[0].Data[i] != mm.nextgen {
			t.Errorf("diff bucket %d: %+v; want legacy %v nextgen %v highlighted", i, ch.Datasets, mm.legacy, mm.nextgen)
		}
		code, _, body = get(t, adm, st.dashURL+"/console/raw?customer="+acme+"&bucket="+url.QueryEscape(mm.bucket.Format(time.RFC3339)), false)
		if code != 200 || !strings.Contains(body, `data-count="`+strconv.Itoa(int(mm.nextgen))+`"`) {
			t.Errorf("raw: want %v events: %d %s", mm.nextgen, code, body)
		}
		pages := (int(mm.nextgen) + 49) / 50
		code, _, body = get(t, adm, st.dashURL+"/console/raw?customer="+acme+"&page=2&bucket="+url.QueryEscape(mm.bucket.Format(time.RFC3339)), false)
		if want := fmt.Sprintf("page %d of %d", min(2, pages), pages); code != 200 || !strings.Contains(body, want) || strings.Count(body, "<tr><td>") != min(50, int(mm.nextgen)-50*(min(2, pages)-1)) {
			t.Errorf("raw page 2: want %q and its rows: %d", want, code)
		}
		for _, bad := range []string{"/console/diff?customer=x", "/console/diff?customer=" + acme + "&metric=nope", "/console/raw?customer=" + acme + "&bucket=x"} {
			if code, _, _ := get(t, adm, st.dashURL+bad, false); code != http.StatusBadRequest {
				t.Errorf("GET %s: %d, want 400", bad, code)
			}
		}
	})
}
