package archive

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events       *prometheus.CounterVec
	invalid      *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	parts        *prometheus.CounterVec
	bytes        prometheus.Counter
	openParts    prometheus.Gauge
	closeSeconds prometheus.Histogram
	commits      prometheus.Counter
	commitErrors prometheus.Counter
	commitLag    *prometheus.GaugeVec
	ledgerErrors prometheus.Counter
	ledgerQueue  prometheus.Gauge
	generations  prometheus.Counter
	fetchErrors  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_archive_events_total", Help: "Records written to open parts, by customer (" + InvalidCustomer + " for invalid records).",
		}, []string{"customer"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_archive_invalid_total", Help: "Records that are not valid pixel events, archived under " + InvalidCustomer + ", by reason.",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_archive_skipped_total", Help: "Records not written because a closed part already holds them, by reason.",
		}, []string{"reason"}),
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_archive_parts_closed_total", Help: "Parts made durable with their manifest, by close reason.",
		}, []string{"reason"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_bytes_total", Help: "Compressed bytes of closed parts.",
		}),
		openParts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "brooks_archive_open_parts", Help: "Parts being written.",
		}),
		closeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_archive_close_seconds", Help: "Time to close a part: flush, fsync, rename, manifest.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_commits_total", Help: "Kafka offset commits.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_commit_errors_total", Help: "Kafka offset commits that failed (retried at the next tick).",
		}),
		commitLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "brooks_archive_commit_lag_records", Help: "Records between the partition's high-water mark and the committed offset.",
		}, []string{"partition"}),
		ledgerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_ledger_errors_total", Help: "Failed ledger writes of closed parts (kept and retried).",
		}),
		ledgerQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "brooks_archive_ledger_pending", Help: "Closed parts waiting to be recorded in the ledger.",
		}),
		generations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_generations_total", Help: "Consumer-group generations joined (rebalances).",
		}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_archive_fetch_errors_total", Help: "Kafka fetch errors (retried).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.invalid, m.skipped, m.parts, m.bytes, m.openParts, m.closeSeconds,
			m.commits, m.commitErrors, m.commitLag, m.ledgerErrors, m.ledgerQueue, m.generations, m.fetchErrors)
	}
	return m
}
