package engine

import "github.com/prometheus/client_golang/prometheus"

// metrics is the engine's Prometheus instrumentation.
type metrics struct {
	records      *prometheus.CounterVec // by outcome
	dropped      *prometheus.CounterVec // by reason
	flushes      *prometheus.CounterVec // by result
	flushDocs    prometheus.Counter
	flushTime    prometheus.Histogram
	conflicts    prometheus.Counter
	rawInsert    prometheus.Histogram
	loadTime     prometheus.Histogram
	loaded       *prometheus.CounterVec // by found
	freshness    prometheus.Histogram
	cells        *prometheus.GaugeVec // by partition
	ledgerErrors prometheus.Counter
	assignments  prometheus.Counter
	retention    *prometheus.CounterVec // by result

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
			Namespace: "brooks", Subsystem: "nextgen", Name: "records_total",
			Help: "Kafka records processed, by outcome: applied (counted), replayed (already in every document it touches), duplicate (eid seen before), ignored (contributes to no metric).",
		}, []string{"outcome"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "dropped_total",
			Help: "Records or rollup updates not counted, by reason: decode, unknown_customer, expired_5m, expired_1d.",
		}, []string{"reason"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "flushes_total", Help: "Partition flushes (bulk write, then offset commit), by result.",
		}, []string{"result"}),
		flushDocs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "flushed_docs_total", Help: "Rollup documents written (absolute values).",
		}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "flush_seconds", Help: "Time to bulk-write one partition's dirty documents.", Buckets: lat,
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "write_conflicts_total", Help: "Document writes refused by the concurrency check (another writer, or an unknown earlier outcome).",
		}),
		rawInsert: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "raw_insert_seconds", Help: "Time to decide eid origins and write one batch to Cassandra.", Buckets: lat,
		}),
		loadTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "doc_load_seconds", Help: "Time to read documents missing from memory back from Elasticsearch (mget).", Buckets: lat,
		}),
		loaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "docs_loaded_total", Help: "Documents looked up in Elasticsearch, by whether they existed.",
		}, []string{"found"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "freshness_seconds",
			Help:    "Receive time of the oldest event in a flush to the flush being durable in Elasticsearch (visible after the 1s refresh).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		cells: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "cells", Help: "Rollup documents held in memory, by partition.",
		}, []string{"partition"}),
		ledgerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "ledger_errors_total", Help: "Failed ledger writes of the raw and rollup stages (the offset is marked durable after a retry succeeds).",
		}),
		assignments: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "partition_assignments_total", Help: "Partitions taken on (rebalances included).",
		}),
		retention: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "brooks", Subsystem: "nextgen", Name: "retention_runs_total", Help: "Retention passes that delete expired indices, by result.",
		}, []string{"result"}),
	}
	m.decodeTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "brooks", Subsystem: "nextgen", Name: "decode_seconds", Help: "Time to decode one batch of records.", Buckets: lat,
	})
	m.applyTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "brooks", Subsystem: "nextgen", Name: "apply_seconds", Help: "Time to roll one batch up into memory, document loads included.", Buckets: lat,
	})
	m.eidDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "brooks", Subsystem: "nextgen", Name: "eid_decisions_total",
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
			m.loaded, m.freshness, m.cells, m.ledgerErrors, m.assignments, m.retention, m.eidDecisions, m.decodeTime, m.applyTime)
	}
	return m
}
