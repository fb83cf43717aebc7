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
	commitErrs  prometheus.Counter
	lastFlush   prometheus.Gauge
	lag         prometheus.Gauge
}

func newIngestMetrics(reg prometheus.Registerer) *ingestMetrics {
	m := &ingestMetrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_legacy_ingest_records_total", Help: "Raw-pixel records read from Kafka.",
		}),
		counted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_legacy_ingest_pageviews_total", Help: "Post page views counted, by customer.",
		}, []string{"customer"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_legacy_ingest_ignored_total", Help: "Records not counted, by reason (non_post, not_pageview, unknown_customer, bad_record, duplicate).",
		}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_legacy_flushes_total", Help: "Windows of in-memory counters flushed to Redis, by trigger (interval, size, shutdown).",
		}, []string{"trigger"}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_legacy_flush_errors_total", Help: "Failed flush attempts (retried), by store.",
		}, []string{"store"}),
		flushTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "brooks_legacy_flush_seconds", Help: "Time to write a flush to a store (redis: one window; mongo: the windows merged while the previous bulk upsert ran), retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}, []string{"store"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_legacy_flush_pageviews", Help: "Page views per MongoDB flush (and offset commit).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 11),
		}),
		commitErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_legacy_commit_errors_total", Help: "Kafka offset commits that failed after a flush (the records will be counted again).",
		}),
		lastFlush: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "brooks_legacy_last_flush_timestamp_seconds", Help: "Unix time of the last flush that reached both stores.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "brooks_legacy_ingest_lag_records", Help: "Records behind the end of the topic, as the Kafka reader last saw it.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.counted, m.ignored, m.flushes, m.flushErrors, m.flushTime, m.batchSize, m.commitErrs, m.lastFlush, m.lag)
	}
	return m
}
