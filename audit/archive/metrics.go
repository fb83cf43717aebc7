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
	ledgerErrors prometheus.Counter
	ledgerQueue  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "events_total", Help: "Records written to open parts, by customer (" + InvalidCustomer + " for invalid records).",
		}, []string{"customer"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "invalid_total", Help: "Records that are not valid pixel events, archived under " + InvalidCustomer + ", by reason.",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "skipped_total", Help: "Records not written because a closed part already holds them, by reason.",
		}, []string{"reason"}),
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "parts_closed_total", Help: "Parts made durable with their manifest, by close reason.",
		}, []string{"reason"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "bytes_total", Help: "Compressed bytes of closed parts.",
		}),
		openParts: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "open_parts", Help: "Parts being written.",
		}),
		closeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "close_seconds", Help: "Time to close a part: flush, fsync, rename, manifest.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		ledgerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "ledger_errors_total", Help: "Failed ledger writes of closed parts (kept and retried).",
		}),
		ledgerQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "brooks", Subsystem: "archive", Name: "ledger_pending", Help: "Closed parts waiting to be recorded in the ledger.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.invalid, m.skipped, m.parts, m.bytes, m.openParts, m.closeSeconds,
			m.ledgerErrors, m.ledgerQueue)
	}
	return m
}
