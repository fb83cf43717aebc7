package cutover

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestURLFreshnessScrapesTextFormat scrapes a real Prometheus text
// exposition (a registry served by promhttp, as every component's /metrics
// is), with other metrics before the histogram, and sends the token.
func TestURLFreshnessScrapesTextFormat(t *testing.T) {
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "brooks_nextgen_records_total", Help: "records"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: FreshnessMetric, Help: "freshness",
		Buckets: []float64{1, 2, 4, 8}})
	reg.MustRegister(other, h)
	other.Add(3)
	for range 98 {
		h.Observe(1.5)
	}
	h.Observe(3)
	h.Observe(7)
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	}))
	defer srv.Close()

	got, err := URLFreshness{URL: srv.URL, Token: "t0k"}.FreshnessP99(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != 4*time.Second { // 99 of 100 observations are at or below 4 s
		t.Errorf("p99 = %v, want 4s", got)
	}
	if gotAuth != "Bearer t0k" {
		t.Errorf("Authorization = %q, want the bearer token", gotAuth)
	}

	empty := httptest.NewServer(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
	defer empty.Close()
	if _, err := (URLFreshness{URL: empty.URL}).FreshnessP99(context.Background()); err == nil {
		t.Error("no freshness metric: want an error (the gate blocks), got none")
	}
}
