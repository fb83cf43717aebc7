package compare

import "github.com/prometheus/client_golang/prometheus"

// metrics are the comparer's Prometheus metrics (namespace brooks,
// subsystem compare).
type metrics struct {
	comparisons    *prometheus.CounterVec
	cells          *prometheus.CounterVec
	ruleHits       *prometheus.CounterVec
	errors         *prometheus.CounterVec
	skipped        *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	rechecks       *prometheus.CounterVec
	synthetic      *prometheus.CounterVec
	querySeconds   *prometheus.HistogramVec
	compareSeconds *prometheus.HistogramVec
	coverage       *prometheus.GaugeVec
	matchRate      *prometheus.GaugeVec
	queueDepth     prometheus.Gauge
	delayedDepth   prometheus.Gauge
	storeRetries   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "brooks", "compare"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	buckets := prometheus.ExponentialBuckets(0.0005, 2, 16)
	m := &metrics{
		comparisons: counter("comparisons_total", "Comparisons made, by customer, serving system and verdict (match, mismatch, unsettled, empty, error).", "customer", "served_by", "verdict"),
		cells:       counter("cells_total", "Compared cells by customer and diff class (matched, within_tolerance, expected, unsettled, missing_left = legacy lacks, missing_right = nextgen lacks, value_drift).", "customer", "class"),
		ruleHits:    counter("rule_hits_total", "Cells an expected-difference rule covered, by rule id.", "rule"),
		errors:      counter("errors_total", "Comparisons that failed, by system that failed (legacy, nextgen, diff), customer and kind (timeout, refused, network, HTTP status, invalid_answer).", "system", "customer", "kind"),
		skipped:     counter("skipped_total", "Comparisons not made because the other system cannot answer the query (unsupported: 422) or refused it (client_error).", "customer", "reason"),
		dropped:     counter("dropped_total", "Comparisons dropped, by customer and reason (sampled_out, queue_full, stopped, recheck_full, recheck_limit, store_failed, bad_job, no_query).", "customer", "reason"),
		rechecks:    counter("rechecks_total", "Windows with unsettled buckets scheduled to be compared again once settled.", "customer"),
		synthetic:   counter("matrix_queries_total", "Synthetic matrix queries scheduled, by customer.", "customer"),
		querySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "query_seconds",
			Help: "Latency of the comparer's queries, by system and customer.", Buckets: buckets}, []string{"system", "customer"}),
		compareSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "comparison_seconds",
			Help: "Time to make one comparison (queries and diff), by customer.", Buckets: buckets}, []string{"customer"}),
		coverage:     gauge("coverage_ratio", "Matrix shapes with a settled comparison within the coverage window / shapes in the matrix, by customer.", "customer"),
		matchRate:    gauge("match_rate", "Share of the customer's last (up to 1000) settled comparisons without a mismatch outside rules.", "customer"),
		queueDepth:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "queue_depth", Help: "Comparisons waiting in the queue."}),
		delayedDepth: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "delayed_depth", Help: "Re-checks waiting for their buckets to settle."}),
		storeRetries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "store_retries_total", Help: "Evidence writes retried after an error."}),
	}
	if reg != nil {
		reg.MustRegister(m.comparisons, m.cells, m.ruleHits, m.errors, m.skipped, m.dropped, m.rechecks, m.synthetic,
			m.querySeconds, m.compareSeconds, m.coverage, m.matchRate, m.queueDepth, m.delayedDepth, m.storeRetries)
	}
	return m
}
