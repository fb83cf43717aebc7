package component

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
)

// server is the component's HTTP server with every limit set.
func (r *Runner) server() *http.Server {
	return &http.Server{
		Handler:           r.handler,
		ReadHeaderTimeout: r.opts.ReadHeaderTimeout,
		ReadTimeout:       r.opts.ReadTimeout,
		WriteTimeout:      r.opts.WriteTimeout,
		IdleTimeout:       r.opts.IdleTimeout,
		MaxHeaderBytes:    r.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
}

// httpMetrics are the request metrics of every route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer, subsystem string) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: subsystem, Name: "requests_total",
			Help: "HTTP requests answered, by route (the matched pattern) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: subsystem, Name: "request_duration_seconds",
			Help:    "Time from receiving a request to the end of its answer, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// instrument records every request's status and duration under the
// pattern the mux matched ("other" when none did).
func (m *httpMetrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r) // sets r.Pattern
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// readiness answers /readyz from named checks.
type readiness struct {
	timeout  time.Duration
	stopping func() bool
	mu       sync.Mutex
	checks   map[string]obs.ReadyCheck
}

func newReadiness(timeout time.Duration, stopping func() bool) *readiness {
	return &readiness{timeout: timeout, stopping: stopping, checks: map[string]obs.ReadyCheck{}}
}

func (rd *readiness) add(name string, c obs.ReadyCheck) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks[name] = c
}

// ServeHTTP runs every check concurrently within the timeout: 200 "ready",
// or 503 listing each failed check; 503 "shutting down" once stopping.
func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rd.stopping() {
		http.Error(w, "not ready\nshutting down", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rd.timeout)
	defer cancel()
	rd.mu.Lock()
	names := make([]string, 0, len(rd.checks))
	for n := range rd.checks {
		names = append(names, n)
	}
	checks := make([]obs.ReadyCheck, len(names))
	slices.Sort(names)
	for i, n := range names {
		checks[i] = rd.checks[n]
	}
	rd.mu.Unlock()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = check(ctx) }()
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", names[i], err))
		}
	}
	if len(failed) > 0 {
		http.Error(w, "not ready\n"+strings.Join(failed, "\n"), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}
