package collector

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	accepted   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	unavail    prometheus.Counter
	kafkaWrite prometheus.Histogram
	batchSize  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "collector", Name: "accepted_total", Help: "Events acknowledged after Kafka had them, by customer.",
		}, []string{"customer"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "collector", Name: "rejected_total", Help: "Requests rejected with a 4xx, by reason.",
		}, []string{"reason"}),
		unavail: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "collector", Name: "unavailable_total", Help: "Requests answered 503 because Kafka did not take the events.",
		}),
		kafkaWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "collector", Name: "kafka_write_seconds", Help: "Time for Kafka to acknowledge a request's events (acks=all).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "collector", Name: "events_per_request", Help: "Events per accepted request.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejected, m.unavail, m.kafkaWrite, m.batchSize)
	}
	return m
}
