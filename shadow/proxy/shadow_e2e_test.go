package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
	"github.com/brooksdata/brooks/shadow/proxy"
)

const (
	shadowCust = "acme.example"    // legacy serves, nextgen compared
	liveCust   = "globex.example"  // nextgen serves, legacy compared
	legacyCust = "initech.example" // legacy serves alone
)

var states = cutover.Static{Customers: map[string]cutover.State{shadowCust: cutover.Shadow, liveCust: cutover.Live, legacyCust: cutover.Legacy}}

// TestShadowEndToEnd runs the platform on the real servers: loadgen →
// collector → Kafka → legacy ingester and nextgen engine → both query
// APIs → the proxy and the comparer, three customers in three states. The
// comparer's settle clock runs two days ahead, so every bucket (also
// today's daily one) counts as settled without waiting.
func TestShadowEndToEnd(t *testing.T) {
	st := runStack(t, loadgen.Options{Seed: 11, Events: 4000, Visitors: 300})
	store := newEvidence(t)
	rules, err := diff.LoadConfig(filepath.Join(testenv.RepoRoot(t), "deploy", "rules", "expected-differences.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	co := compare.DefaultOptions()
	co.Legacy, co.Nextgen, co.States, co.Customers, co.Store = st.legacy, st.nextgen, states, st.customers.IDs(), store
	co.Rules, co.Tolerances, co.Registerer = rules.Rules, rules.Tolerances, reg
	co.Pace, co.RecheckPoll = 20*time.Millisecond, 50*time.Millisecond
	co.SettleNow = func() time.Time { return time.Now().Add(49 * time.Hour) }
	comparer, err := compare.New(co)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	runUntilCleanup(t, "comparer", comparer.Run)
	toks := newTokens(t, shadowCust, liveCust, legacyCust)
	newProxy := func(legacyURL, nextgenURL string, c proxy.Comparer) string {
		o := proxy.DefaultOptions()
		o.LegacyURL, o.NextgenURL, o.States, o.Tokens, o.Comparer, o.Customers = legacyURL, nextgenURL, states, toks.tokens, c, st.customers
		o.Handlers = evidence.Handlers(store, evidence.SummaryOptions{Shapes: matrix.SyntheticIDs(), Rules: rules.Rules}, nil)
		p, err := proxy.New(o)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(p.Handler())
		t.Cleanup(ts.Close)
		return ts.URL
	}
	proxyURL := newProxy(st.legacyURL, st.nextgenURL, comparer)
	from, to := st.span()
	day, nextDay := from.Truncate(24*time.Hour), to.Truncate(24*time.Hour).Add(24*time.Hour)

	t.Run("answers are the serving system's", func(t *testing.T) {
		for _, tt := range []struct {
			customer, servedBy string
		}{{shadowCust, "legacy"}, {liveCust, "nextgen"}, {legacyCust, "legacy"}} {
			qs := []*query.Query{
				{Customer: tt.customer, Metrics: []string{"pageviews"}, From: from, To: to, Interval: "5m"},
				{Customer: tt.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"url", "referrer_category"}, From: from, To: to, Interval: "5m"},
				{Customer: tt.customer, Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"url"}, From: day, To: nextDay, Interval: "1d"},
				{Customer: tt.customer, Metrics: []string{"pageviews", "visitors"}, GroupBy: []string{"url"}, From: day, To: nextDay, Interval: "total", OrderBy: "-pageviews", Limit: 5},
			}
			direct := st.legacy
			if tt.servedBy == "nextgen" {
				direct = st.nextgen
				// A query only nextgen answers: served; its comparison is skipped (legacy 422).
				qs = append(qs, &query.Query{Customer: tt.customer, Metrics: []string{"engaged_seconds"}, GroupBy: []string{"device"}, From: from, To: to, Interval: "5m"})
			}
			for _, q := range qs {
				body, _ := json.Marshal(q)
				status, h, got := do(t, "POST", proxyURL+"/v1/query", toks.read[tt.customer], string(body))
				if status != 200 {
					t.Fatalf("%s: status %d: %s", tt.customer, status, got)
				}
				if h.Get(proxy.HeaderServedBy) != tt.servedBy {
					t.Errorf("%s: header %q, want %s", tt.customer, h.Get(proxy.HeaderServedBy), tt.servedBy)
				}
				var pa query.Answer
				if err := json.Unmarshal(got, &pa); err != nil {
					t.Fatal(err)
				}
				want, err := direct.Do(testenv.Context(t, time.Minute), q)
				if err != nil {
					t.Fatal(err)
				}
				if pa.ServedBy != tt.servedBy {
					t.Errorf("%s: served_by %q", tt.customer, pa.ServedBy)
				}
				if d := gocmp.Diff(want, &pa); d != "" {
					t.Errorf("%s %s: proxy answer differs from %s's own (-direct +proxy):\n%s", tt.customer, matrix.ID(q), tt.servedBy, d)
				}
			}
		}
	})

	t.Run("clean run: settled comparisons all match outside rules, full coverage", func(t *testing.T) {
		deadline := time.Now().Add(2 * time.Minute)
		for comparer.Coverage(shadowCust) < 1 || comparer.Coverage(liveCust) < 1 {
			if time.Now().After(deadline) {
				for _, cust := range []string{shadowCust, liveCust} {
					s, err := evidence.Summarize(testenv.Context(t, time.Minute), store, cust, started.Add(-time.Minute), time.Now().Add(time.Minute), evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()})
					if err == nil {
						var text bytes.Buffer
						s.Text(&text)
						t.Logf("%s", text.String())
					}
				}
				mfs, _ := reg.Gather()
				for _, mf := range mfs {
					if strings.Contains(mf.GetName(), "skipped") || strings.Contains(mf.GetName(), "errors") || strings.Contains(mf.GetName(), "dropped") {
						for _, m := range mf.GetMetric() {
							t.Logf("%s %v %v", mf.GetName(), m.GetLabel(), m.GetCounter().GetValue())
						}
					}
				}
				t.Fatalf("coverage %.2f / %.2f; missing %v / %v", comparer.Coverage(shadowCust), comparer.Coverage(liveCust),
					comparer.Missing(shadowCust), comparer.Missing(liveCust))
			}
			time.Sleep(200 * time.Millisecond)
		}
		elapsed := time.Since(started)
		time.Sleep(500 * time.Millisecond) // the last evidence writes
		total := 0
		for _, cust := range []string{shadowCust, liveCust} {
			s, err := evidence.Summarize(testenv.Context(t, time.Minute), store, cust, started.Add(-time.Minute), time.Now().Add(time.Minute),
				evidence.SummaryOptions{Shapes: matrix.SyntheticIDs(), Rules: rules.Rules})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			s.Text(&text)
			t.Logf("%s", text.String())
			if s.Verdict != evidence.Pass || s.Matching != s.Settled || s.OpenCount != 0 || s.Cells.Mismatches != 0 || s.Coverage != 1 || s.Errors != 0 {
				t.Errorf("%s: verdict %s (%s), %d/%d settled matching, %d open, %d mismatching cells, coverage %.2f, %d errors",
					cust, s.Verdict, s.Reason, s.Matching, s.Settled, s.OpenCount, s.Cells.Mismatches, s.Coverage, s.Errors)
			}
			if s.Cells.Matched == 0 || s.Cells.Expected == 0 {
				t.Errorf("%s: %d matched and %d expected cells: the comparison compared nothing real", cust, s.Cells.Matched, s.Cells.Expected)
			}
			total += s.Comparisons
		}
		t.Logf("%d comparisons in %s (%.1f/s, paced at one matrix query per %s)", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), co.Pace)
		if s, err := evidence.Summarize(testenv.Context(t, time.Minute), store, legacyCust, started.Add(-time.Minute), time.Now().Add(time.Minute),
			evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}); err != nil || s.Verdict != evidence.Inconclusive {
			t.Errorf("%s without comparisons: %+v, %v; want INCONCLUSIVE, never a pass", legacyCust, s, err)
		}
		cs, err := store.Comparisons(testenv.Context(t, time.Minute), legacyCust, started.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil || len(cs) != 0 {
			t.Errorf("%s (state legacy) has %d comparisons (%v), want none", legacyCust, len(cs), err)
		}
		if n := metricSum(t, reg, "brooks_compare_skipped_total", map[string]string{"customer": liveCust, "reason": "unsupported"}); n < 1 {
			t.Errorf("the nextgen-only query of %s was not skipped as unsupported (%v)", liveCust, n)
		}
	})

	var undoNextgen func(*testing.T)
	t.Run("planted faults become open mismatches", func(t *testing.T) {
		// Nextgen: one rollup document of a post of the shadow customer gets 7 more page views.
		nk := pickPost(t, st, shadowCust)
		undoNextgen = st.plantNextgen(t, shadowCust, nk.URL, nk.Bucket, 7)
		// Legacy: one Redis counter of a post of the live customer gets 5 more.
		lk := pickPost(t, st, liveCust)
		key := fmt.Sprintf("%spv5m:%s:%d", st.keyPrefix, liveCust, lk.Bucket.Unix())
		if err := st.rdb.HIncrBy(testenv.Context(t, time.Minute), key, lk.URL+"\x1f"+lk.RefCategory, 5).Err(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			customer, url string
			bucket        time.Time
			delta         float64 // nextgen − legacy
		}{{shadowCust, nk.URL, nk.Bucket, 7}, {liveCust, lk.URL, lk.Bucket, -5}} {
			deadline := time.Now().Add(3 * time.Minute)
			for {
				ms, err := store.Mismatches(testenv.Context(t, time.Minute), want.customer, false)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, m := range ms {
					if m.Cell.Metric == "pageviews" && m.Cell.Bucket.Equal(want.bucket) && m.Cell.Series["url"] == want.url && m.Cell.Nextgen-m.Cell.Legacy == want.delta {
						found = true
						t.Logf("open mismatch: %s %s %s %v legacy %g nextgen %g (%s)", m.Customer, m.Shape, m.Cell.Bucket.Format(time.RFC3339), m.Cell.Series, m.Cell.Legacy, m.Cell.Nextgen, m.Cell.Class)
						break
					}
				}
				if found {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no open mismatch for %s at %s (open: %d)", want.customer, want.url, want.bucket, len(ms))
				}
				time.Sleep(300 * time.Millisecond)
			}
			status, _, body := do(t, "GET", proxyURL+"/v1/shadow/summary?customer="+want.customer+"&since=1h", toks.admin, "")
			var s evidence.Summary
			if status != 200 || json.Unmarshal(body, &s) != nil || s.Verdict != evidence.Fail || s.OpenCount == 0 {
				t.Errorf("%s summary: %d %s", want.customer, status, body)
			}
			status, _, body = do(t, "GET", proxyURL+"/v1/shadow/mismatches?customer="+want.customer, toks.admin, "")
			if status != 200 || !strings.Contains(string(body), want.url) {
				t.Errorf("%s mismatches: %d %.300s", want.customer, status, body)
			}
		}
	})

	t.Run("mismatches close when a later comparison agrees", func(t *testing.T) {
		if undoNextgen == nil {
			t.Skip("no fault was planted")
		}
		undoNextgen(t)
		lk := pickPost(t, st, liveCust)
		key := fmt.Sprintf("%spv5m:%s:%d", st.keyPrefix, liveCust, lk.Bucket.Unix())
		if err := st.rdb.HIncrBy(testenv.Context(t, time.Minute), key, lk.URL+"\x1f"+lk.RefCategory, -5).Err(); err != nil {
			t.Fatal(err)
		}
		for _, cust := range []string{shadowCust, liveCust} {
			deadline := time.Now().Add(3 * time.Minute)
			for {
				ms, err := store.Mismatches(testenv.Context(t, time.Minute), cust, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d mismatches still open after the fault was undone, e.g. %+v", cust, len(ms), ms[0])
				}
				time.Sleep(300 * time.Millisecond)
			}
			all, err := store.Mismatches(testenv.Context(t, time.Minute), cust, true)
			if err != nil || len(all) == 0 || all[0].ClosedAt == nil || all[0].ClosedBy == "" {
				t.Errorf("%s: closed mismatches %+v (%v)", cust, all, err)
			}
		}
	})

	t.Run("unsettled buckets are compared again once settled", func(t *testing.T) {
		var mu sync.Mutex
		clock := time.Now()
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		st2 := newEvidence(t)
		o := compare.DefaultOptions()
		o.Legacy, o.Nextgen, o.Pace, o.Store, o.Rules, o.Tolerances = st.legacy, st.nextgen, -1, st2, rules.Rules, rules.Tolerances
		o.SettleNow, o.RecheckPoll = now, 20*time.Millisecond
		c3, err := compare.New(o)
		if err != nil {
			t.Fatal(err)
		}
		runUntilCleanup(t, "comparer with a test clock", c3.Run)
		q := matrix.Synthetic()[1].At(shadowCust, time.Now()) // pageviews/site/5m/1h: its last buckets are not settled
		if !c3.Offer(compare.Job{Query: q, ServedBy: compare.Legacy}) {
			t.Fatal("offer refused")
		}
		waitFor := func(source string) evidence.Comparison {
			deadline := time.Now().Add(time.Minute)
			for {
				cs, err := st2.Comparisons(testenv.Context(t, time.Minute), shadowCust, started.Add(-time.Hour), time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					if c.Source == source {
						return c
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s comparison (%d others)", source, len(cs))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		first := waitFor(compare.SourceProxy)
		if first.Tally.Unsettled == 0 {
			t.Fatalf("first comparison had no unsettled cells: %+v", first.Tally)
		}
		mu.Lock()
		clock = clock.Add(time.Hour) // every bucket of the window settles
		mu.Unlock()
		again := waitFor(compare.SourceRecheck)
		if again.Tally.Unsettled != 0 || again.Tally.Compared != first.Tally.Cells || again.Tally.Mismatches != 0 || again.Rechecks != 1 {
			t.Errorf("re-check: %+v (first: %+v)", again.Tally, first.Tally)
		}
	})

	t.Run("the comparing system down: answers keep coming, comparisons fail and are counted", func(t *testing.T) {
		dead := refusedURL(t)
		reg2 := prometheus.NewRegistry()
		o := compare.DefaultOptions()
		o.Legacy, o.Nextgen, o.Pace, o.Registerer = st.legacy, query.NewClient(dead), -1, reg2
		c2, err := compare.New(o)
		if err != nil {
			t.Fatal(err)
		}
		runUntilCleanup(t, "comparer with nextgen down", c2.Run)
		u := newProxy(st.legacyURL, dead, c2)
		q, _ := json.Marshal(&query.Query{Customer: shadowCust, Metrics: []string{"pageviews"}, From: from, To: to, Interval: "5m"})
		for range 5 {
			status, h, body := do(t, "POST", u+"/v1/query", toks.read[shadowCust], string(q))
			if status != 200 || h.Get(proxy.HeaderServedBy) != "legacy" || h.Get(proxy.HeaderFallback) != "" {
				t.Fatalf("status %d, served by %q: %s", status, h.Get(proxy.HeaderServedBy), body)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for metricSum(t, reg2, "brooks_compare_errors_total", map[string]string{"system": "nextgen", "customer": shadowCust}) < 5 {
			if time.Now().After(deadline) {
				t.Fatal("failed comparisons were not counted")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("the serving system down: fallback answers", func(t *testing.T) {
		dead := refusedURL(t)
		for _, tt := range []struct {
			customer, legacyURL, nextgenURL, servedBy string
			direct                                    *query.Client
		}{
			{shadowCust, dead, st.nextgenURL, "nextgen", st.nextgen},
			{liveCust, st.legacyURL, dead, "legacy", st.legacy},
		} {
			u := newProxy(tt.legacyURL, tt.nextgenURL, nil)
			q := &query.Query{Customer: tt.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"url"}, From: day, To: nextDay, Interval: "1d"}
			body, _ := json.Marshal(q)
			status, h, got := do(t, "POST", u+"/v1/query", toks.read[tt.customer], string(body))
			if status != 200 || h.Get(proxy.HeaderServedBy) != tt.servedBy || h.Get(proxy.HeaderFallback) != "true" {
				t.Fatalf("%s: status %d, served by %q, fallback %q: %.300s", tt.customer, status, h.Get(proxy.HeaderServedBy), h.Get(proxy.HeaderFallback), got)
			}
			var marked struct {
				Fallback bool `json:"fallback"`
			}
			var pa query.Answer
			if json.Unmarshal(got, &marked) != nil || !marked.Fallback || json.Unmarshal(got, &pa) != nil {
				t.Fatalf("%s: body not marked fallback: %.300s", tt.customer, got)
			}
			want, err := tt.direct.Do(testenv.Context(t, time.Minute), q)
			if err != nil {
				t.Fatal(err)
			}
			if d := gocmp.Diff(want, &pa); d != "" {
				t.Errorf("%s: fallback answer differs from %s's own:\n%s", tt.customer, tt.servedBy, d)
			}
		}
	})
}

// pickPost returns the traffic's busiest post cell of a customer in the
// last 55 minutes (inside the matrix's one-hour window).
func pickPost(t *testing.T, st *stack, customer string) loadgen.Key {
	t.Helper()
	c, _ := st.customers.Get(customer)
	var best loadgen.Key
	n := 0
	for k, cell := range st.exp.Cells {
		if k.Customer == customer && c.IsPost(k.URL) && cell.Pageviews > n && time.Since(k.Bucket) < 55*time.Minute {
			best, n = k, cell.Pageviews
		}
	}
	if n == 0 {
		t.Fatalf("no post traffic for %s", customer)
	}
	return best
}

// plantNextgen adds delta page views to one 5-minute tuple document of url
// in Elasticsearch: read it, change it, write it back. It returns a
// function that writes the document back as it was.
func (st *stack) plantNextgen(t *testing.T, customer, url string, bucket time.Time, delta int) (undo func(*testing.T)) {
	t.Helper()
	es := st.es.ES
	ctx := testenv.Context(t, time.Minute)
	q := fmt.Sprintf(`{"size":1,"query":{"bool":{"filter":[{"term":{"customer":%q}},{"term":{"d_url":%q}},{"term":{"bucket":%q}}]}}}`,
		customer, url, bucket.Format(time.RFC3339))
	res, err := es.Search(es.Search.WithContext(ctx), es.Search.WithIndex(st.es.Names.Alias("5m")), es.Search.WithBody(strings.NewReader(q)))
	if err != nil {
		t.Fatal(err)
	}
	raw := readAll(res.Body)
	res.Body.Close()
	var found struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if res.IsError() || json.Unmarshal([]byte(raw), &found) != nil || len(found.Hits.Hits) == 0 {
		t.Fatalf("find the rollup document of %s %s: %s %.300s", url, bucket, res.Status(), raw)
	}
	h := found.Hits.Hits[0]
	write := func(t *testing.T, src map[string]any) {
		doc, _ := json.Marshal(src)
		res, err := es.Index(h.Index, bytes.NewReader(doc), es.Index.WithDocumentID(h.ID), es.Index.WithRefresh("true"),
			es.Index.WithContext(testenv.Context(t, time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		raw := readAll(res.Body)
		res.Body.Close()
		if res.IsError() {
			t.Fatalf("rewrite %s/%s: %s %.300s", h.Index, h.ID, res.Status(), raw)
		}
	}
	orig := map[string]any{}
	for k, v := range h.Source {
		orig[k] = v
	}
	h.Source["m_pageviews"] = h.Source["m_pageviews"].(float64) + float64(delta)
	write(t, h.Source)
	return func(t *testing.T) { write(t, orig) }
}

func readAll(r interface{ Read([]byte) (int, error) }) string {
	var b bytes.Buffer
	b.ReadFrom(r)
	return b.String()
}

// metricSum adds the values of a counter's series whose labels include want.
func metricSum(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			s += m.GetCounter().GetValue()
		}
	}
	return s
}
