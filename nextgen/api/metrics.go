package api

import "github.com/prometheus/client_golang/prometheus"

// metrics are the API's own Prometheus metrics; request counts and
// durations by route and status are the component runner's
// (brooks_nextgen_api_requests_total, ..._request_duration_seconds).
type metrics struct {
	rejected *prometheus.CounterVec // by reason (the error code)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen_api", Name: "rejected_total",
			Help: "Requests answered with an error, by reason (invalid_query, unknown_customer, unsupported, bad_request, unavailable, internal, canceled).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.rejected)
	}
	return m
}

func (m *metrics) reject(code string) { m.rejected.WithLabelValues(code).Inc() }
