package proxy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/proxy"
)

// BenchmarkProxyOverhead measures, in one run and side by side, a
// dashboard query sent to the serving system directly and through the
// proxy, with every served answer compared (100% sampling) by a comparer
// running against the other real system. Both systems run on the real
// servers with loadgen traffic. Each iteration sends the query once each
// way (alternating which goes first); the p50 and p99 of both and their
// difference are reported, with the comparisons made per second.
//
//	go test -run XXX -bench ProxyOverhead -benchtime 3000x ./shadow/proxy
func BenchmarkProxyOverhead(b *testing.B) {
	st := runStack(b, loadgen.Options{Seed: 5, Events: 3000, Visitors: 300})
	from, to := st.span()
	for _, bc := range []struct {
		name, customer, serving string
	}{{"shadow-legacy-serves", shadowCust, st.legacyURL}, {"live-nextgen-serves", liveCust, st.nextgenURL}} {
		b.Run(bc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			co := compare.DefaultOptions()
			co.Legacy, co.Nextgen, co.Pace, co.Registerer = st.legacy, st.nextgen, -1, reg
			co.SettleNow = func() time.Time { return time.Now().Add(49 * time.Hour) }
			comparer, err := compare.New(co)
			if err != nil {
				b.Fatal(err)
			}
			runUntilCleanup(b, "comparer", comparer.Run)
			toks := newTokens(b, bc.customer)
			o := proxy.DefaultOptions()
			o.LegacyURL, o.NextgenURL, o.States, o.Tokens, o.Comparer = st.legacyURL, st.nextgenURL, states, toks.tokens, comparer
			p, err := proxy.New(o)
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(p.Handler())
			b.Cleanup(ts.Close)
			body, _ := json.Marshal(&query.Query{Customer: bc.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"referrer_category"},
				From: from, To: to, Interval: "5m"})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			send := func(url, token string) time.Duration {
				req, _ := http.NewRequest("POST", url+"/v1/query", bytes.NewReader(body))
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(start)
				if resp.StatusCode != 200 {
					b.Fatalf("%s: status %d", url, resp.StatusCode)
				}
				return el
			}
			for range 50 { // warm connections and caches on both paths
				send(bc.serving, "")
				send(ts.URL, toks.read[bc.customer])
			}
			direct := make([]time.Duration, 0, b.N)
			proxied := make([]time.Duration, 0, b.N)
			c0 := metricSum(b, reg, "brooks_compare_comparisons_total", nil)
			start := time.Now()
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					direct = append(direct, send(bc.serving, ""))
					proxied = append(proxied, send(ts.URL, toks.read[bc.customer]))
				} else {
					proxied = append(proxied, send(ts.URL, toks.read[bc.customer]))
					direct = append(direct, send(bc.serving, ""))
				}
			}
			b.StopTimer()
			elapsed := time.Since(start)
			slices.Sort(direct)
			slices.Sort(proxied)
			q := func(d []time.Duration, p float64) float64 {
				return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds())
			}
			compared := metricSum(b, reg, "brooks_compare_comparisons_total", nil) - c0
			dropped := metricSum(b, reg, "brooks_compare_dropped_total", nil)
			b.ReportMetric(q(direct, 0.5), "direct-p50-µs")
			b.ReportMetric(q(direct, 0.99), "direct-p99-µs")
			b.ReportMetric(q(proxied, 0.5), "proxy-p50-µs")
			b.ReportMetric(q(proxied, 0.99), "proxy-p99-µs")
			b.ReportMetric(q(proxied, 0.5)-q(direct, 0.5), "added-p50-µs")
			b.ReportMetric(q(proxied, 0.99)-q(direct, 0.99), "added-p99-µs")
			b.ReportMetric(compared/elapsed.Seconds(), "comparisons/s")
			b.ReportMetric(dropped, "dropped")
		})
	}
}
