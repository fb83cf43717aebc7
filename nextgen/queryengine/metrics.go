package queryengine

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/query"
)

// metrics are the engine's Prometheus metrics.
type metrics struct {
	queries       *prometheus.CounterVec   // by interval and outcome
	duration      *prometheus.HistogramVec // by interval
	pages         prometheus.Counter
	esDuration    prometheus.Histogram
	esErrors      *prometheus.CounterVec // by reason
	documents     *prometheus.CounterVec // queries by the documents read: site or tuple
	siteFallbacks prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_queries_total",
			Help: "Queries executed, by interval and outcome (ok, invalid, unsupported, backend, error).",
		}, []string{"interval", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "brooks_nextgen_query_duration_seconds",
			Help:    "Time to answer a query, by interval.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"interval"}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_nextgen_query_search_pages_total",
			Help: "Elasticsearch searches (composite aggregation pages) run for queries.",
		}),
		esDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "brooks_nextgen_query_search_duration_seconds",
			Help:    "Time of one Elasticsearch search.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		esErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_query_search_errors_total",
			Help: "Failed Elasticsearch searches, by reason (transport, status, decode, partial).",
		}, []string{"reason"}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_query_documents_total",
			Help: "Queries by the rollup documents that answered them: site (per-bucket totals, exact distinct counts) or tuple.",
		}, []string{"family"}),
		siteFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_nextgen_query_site_fallbacks_total",
			Help: "Queries that could not use site documents (a bucket's events came through more than one partition) and read tuple documents instead.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.queries, m.duration, m.pages, m.esDuration, m.esErrors, m.documents, m.siteFallbacks)
	}
	return m
}

// observe counts one query.
func (m *metrics) observe(interval string, err error, took time.Duration) {
	if query.Step(interval) == 0 && interval != query.IntervalTotal {
		interval = "other"
	}
	m.queries.WithLabelValues(interval, outcome(err)).Inc()
	if err == nil {
		m.duration.WithLabelValues(interval).Observe(took.Seconds())
	}
}

// outcome classifies a query's error for metrics and logs.
func outcome(err error) string {
	var inv *query.InvalidError
	var uns *query.UnsupportedError
	var be *BackendError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &inv):
		return "invalid"
	case errors.As(err, &uns):
		return "unsupported"
	case errors.As(err, &be):
		return "backend"
	}
	return "error"
}
