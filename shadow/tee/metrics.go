package tee

import "github.com/prometheus/client_golang/prometheus"

// Retry operations, the op label of brooks_consumer_retries_total.
const (
	OpJoin   = "join"   // joining the group / a generation failed
	OpFetch  = "fetch"  // reading records failed
	OpCommit = "commit" // an offset commit failed (kept, retried)
	OpLag    = "lag"    // reading the partitions' ends failed
	OpHandle = "handle" // the component's handler failed (partition replayed)
)

// metrics are the consumer's Prometheus metrics, labelled with the group
// so several consumers can share a registry.
type metrics struct {
	records     prometheus.Counter
	batches     prometheus.Counter
	handleTime  prometheus.Histogram
	retries     *prometheus.CounterVec
	commits     prometheus.Counter
	generations prometheus.Counter
	assigned    prometheus.Gauge
	committed   *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, group string) *metrics {
	const ns, sub = "brooks", "consumer"
	cl := prometheus.Labels{"group": group}
	m := &metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "records_total",
			Help: "Records handed to the component.", ConstLabels: cl}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "batches_total",
			Help: "Batches handed to the component.", ConstLabels: cl}),
		handleTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "handle_seconds",
			Help: "Time the component took to handle one batch.", ConstLabels: cl, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "retries_total",
			Help: "Transient failures retried with backoff, by op (join, fetch, commit, lag, handle).", ConstLabels: cl}, []string{"op"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "commits_total",
			Help: "Offset commits that succeeded.", ConstLabels: cl}),
		generations: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "generations_total",
			Help: "Consumer-group generations joined (rebalances, rejoins after a broker loss).", ConstLabels: cl}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "assigned_partitions",
			Help: "Partitions this member owns now.", ConstLabels: cl}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "committed_offset",
			Help: "Last committed offset (next to read), by partition.", ConstLabels: cl}, []string{"partition"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "partition_lag",
			Help: "Records between the partition's high-water mark and the committed offset, by partition; refreshed on a timer, idle or not.", ConstLabels: cl}, []string{"partition"}),
	}
	for _, op := range []string{OpJoin, OpFetch, OpCommit, OpLag, OpHandle} {
		m.retries.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.records, m.batches, m.handleTime, m.retries, m.commits, m.generations, m.assigned, m.committed, m.lag)
	}
	return m
}
