package collector

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	accepted   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	unavail    prometheus.Counter
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	kafkaWrite prometheus.Histogram
	batchSize  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_collector_accepted_total", Help: "Events acknowledged after Kafka had them, by customer.",
		}, []string{"customer"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_collector_rejected_total", Help: "Requests rejected with a 4xx, by reason.",
		}, []string{"reason"}),
		unavail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_collector_unavailable_total", Help: "Requests answered 503 because Kafka did not take the events.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_collector_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "brooks_collector_request_seconds", Help: "Request latency by endpoint, receive to answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"endpoint"}),
		kafkaWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_collector_kafka_write_seconds", Help: "Time for Kafka to acknowledge a request's events (acks=all).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_collector_events_per_request", Help: "Events per accepted request.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejected, m.unavail, m.requests, m.latency, m.kafkaWrite, m.batchSize)
	}
	return m
}
