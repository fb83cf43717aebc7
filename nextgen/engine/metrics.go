package engine

import "github.com/prometheus/client_golang/prometheus"

// metrics is the engine's Prometheus instrumentation.
type metrics struct {
	records     *prometheus.CounterVec // by outcome
	dropped     *prometheus.CounterVec // by reason
	flushes     *prometheus.CounterVec // by result
	flushDocs   prometheus.Counter
	flushTime   prometheus.Histogram
	conflicts   prometheus.Counter
	rawInsert   prometheus.Histogram
	loadTime    prometheus.Histogram
	loaded      *prometheus.CounterVec // by found
	freshness   prometheus.Histogram
	cells       *prometheus.GaugeVec // by partition
	committed   *prometheus.GaugeVec // by partition
	lag         *prometheus.GaugeVec // by partition
	assignments prometheus.Counter
	retention   *prometheus.CounterVec // by result

	decodeTime   prometheus.Histogram
	applyTime    prometheus.Histogram
	eidDecisions *prometheus.CounterVec // by how
	eidMemory    prometheus.Counter
	eidLookup    prometheus.Counter

	// Hot-path children of records.
	applied, replayed, duplicate, ignored prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	lat := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_records_total",
			Help: "Kafka records processed, by outcome: applied (counted), replayed (already in every document it touches), duplicate (eid seen before), ignored (contributes to no metric).",
		}, []string{"outcome"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_dropped_total",
			Help: "Records or rollup updates not counted, by reason: decode, unknown_customer, expired_5m, expired_1d.",
		}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_flushes_total", Help: "Partition flushes (bulk write, then offset commit), by result.",
		}, []string{"result"}),
		flushDocs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_nextgen_flushed_docs_total", Help: "Rollup documents written (absolute values).",
		}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_nextgen_flush_seconds", Help: "Time to bulk-write one partition's dirty documents.", Buckets: lat,
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_nextgen_write_conflicts_total", Help: "Document writes refused by the concurrency check (another writer, or an unknown earlier outcome).",
		}),
		rawInsert: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_nextgen_raw_insert_seconds", Help: "Time to decide eid origins and write one batch to Cassandra.", Buckets: lat,
		}),
		loadTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "brooks_nextgen_doc_load_seconds", Help: "Time to read documents missing from memory back from Elasticsearch (mget).", Buckets: lat,
		}),
		loaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_docs_loaded_total", Help: "Documents looked up in Elasticsearch, by whether they existed.",
		}, []string{"found"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "brooks_nextgen_freshness_seconds",
			Help:    "Receive time of the oldest event in a flush to the flush being durable in Elasticsearch (visible after the 1s refresh).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		cells: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "brooks_nextgen_cells", Help: "Rollup documents held in memory, by partition.",
		}, []string{"partition"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "brooks_nextgen_committed_offset", Help: "Last committed offset (next to read), by partition.",
		}, []string{"partition"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "brooks_nextgen_partition_lag", Help: "Records behind the partition's end, by partition.",
		}, []string{"partition"}),
		assignments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "brooks_nextgen_partition_assignments_total", Help: "Partitions taken on (rebalances included).",
		}),
		retention: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brooks_nextgen_retention_runs_total", Help: "Retention passes that delete expired indices, by result.",
		}, []string{"result"}),
	}
	m.decodeTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "brooks_nextgen_decode_seconds", Help: "Time to decode one batch of records.", Buckets: lat,
	})
	m.applyTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "brooks_nextgen_apply_seconds", Help: "Time to roll one batch up into memory, document loads included.", Buckets: lat,
	})
	m.eidDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brooks_nextgen_eid_decisions_total",
		Help: "Event ids decided first or repeated, by how: memory (the writer's Bloom filters show it new) or lookup (read in Cassandra).",
	}, []string{"how"})
	m.eidMemory = m.eidDecisions.WithLabelValues("memory")
	m.eidLookup = m.eidDecisions.WithLabelValues("lookup")
	m.applied = m.records.WithLabelValues("applied")
	m.replayed = m.records.WithLabelValues("replayed")
	m.duplicate = m.records.WithLabelValues("duplicate")
	m.ignored = m.records.WithLabelValues("ignored")
	if reg != nil {
		reg.MustRegister(m.records, m.dropped, m.flushes, m.flushDocs, m.flushTime, m.conflicts, m.rawInsert, m.loadTime,
			m.loaded, m.freshness, m.cells, m.committed, m.lag, m.assignments, m.retention, m.eidDecisions, m.decodeTime, m.applyTime)
	}
	return m
}
