package legacy

import "github.com/prometheus/client_golang/prometheus"

// ingestMetrics are the ingester's Prometheus metrics.
type ingestMetrics struct {
	records     prometheus.Counter
	counted     *prometheus.CounterVec
	ignored     *prometheus.CounterVec
	flushes     *prometheus.CounterVec
	flushErrors *prometheus.CounterVec
	flushTime   *prometheus.HistogramVec
	batchSize   prometheus.Histogram
	lastFlush   prometheus.Gauge
}

func newIngestMetrics(reg prometheus.Registerer) *ingestMetrics {
	m := &ingestMetrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "ingest_records_total", Help: "Raw-pixel records read from Kafka.",
		}),
		counted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "ingest_pageviews_total", Help: "Post page views counted, by customer.",
		}, []string{"customer"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "ingest_ignored_total", Help: "Records not counted, by reason (non_post, not_pageview, unknown_customer, bad_record, duplicate).",
		}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "flushes_total", Help: "Windows of in-memory counters flushed to Redis, by trigger (interval, size, shutdown).",
		}, []string{"trigger"}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "flush_errors_total", Help: "Failed flush attempts (retried), by store.",
		}, []string{"store"}),
		flushTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "flush_seconds", Help: "Time to write a flush to a store (redis: one window; mongo: the windows merged while the previous bulk upsert ran), retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}, []string{"store"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "flush_pageviews", Help: "Page views per MongoDB flush (and offset commit).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 11),
		}),
		lastFlush: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "brooks", Subsystem: "legacy", Name: "last_flush_timestamp_seconds", Help: "Unix time of the last flush that reached both stores.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.counted, m.ignored, m.flushes, m.flushErrors, m.flushTime, m.batchSize, m.lastFlush)
	}
	return m
}
