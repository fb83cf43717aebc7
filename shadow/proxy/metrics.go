package proxy

import "github.com/prometheus/client_golang/prometheus"

// metrics are the proxy's Prometheus metrics (namespace brooks, subsystem
// proxy).
type metrics struct {
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	backendSeconds *prometheus.HistogramVec
	backendErrors  *prometheus.CounterVec
	fallbacks      *prometheus.CounterVec
	fallbackFailed *prometheus.CounterVec
	forbidden      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "brooks", "proxy"
	buckets := prometheus.ExponentialBuckets(0.0002, 2, 18)
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Queries answered, by customer, cutover state, system that served (none: both failed) and HTTP status."},
			[]string{"customer", "state", "served_by", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_seconds",
			Help: "Time from a query's arrival to its answer, by customer.", Buckets: buckets}, []string{"customer"}),
		backendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "backend_seconds",
			Help: "Latency of the serving system (and of a fallback), by system and customer.", Buckets: buckets}, []string{"system", "customer"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "backend_errors_total",
			Help: "Failed or refused backend answers by system, customer and kind (timeout, refused, network, read, 5xx, or the 4xx status)."},
			[]string{"system", "customer", "kind"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "fallbacks_total",
			Help: "Answers served by the other system because the serving one failed, by customer, failed system and serving system."},
			[]string{"customer", "from", "to"}),
		fallbackFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "fallback_failures_total",
			Help: "Queries where the serving system and the fallback both failed (answered 502)."},
			[]string{"customer", "from", "to"}),
		forbidden: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "forbidden_total",
			Help: "Queries refused with 403: a customer token asking for another customer."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.requestSeconds, m.backendSeconds, m.backendErrors, m.fallbacks, m.fallbackFailed, m.forbidden)
	}
	return m
}
