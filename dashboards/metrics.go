package dashboards

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.CounterVec
	forbidden prometheus.Counter
	upstream  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "dashboards",
			Name: "requests_total", Help: "Dashboard requests by route and status."}, []string{"route", "code"}),
		forbidden: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "dashboards",
			Name: "forbidden_total", Help: "Pages refused because the session's token may not read them."}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "dashboards",
			Name: "upstream_errors_total", Help: "Failed reads of the proxy and admin APIs by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.forbidden, m.upstream)
	return m
}

func (m *metrics) count(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
