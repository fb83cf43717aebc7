package queryengine

import (
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
)

// The engine reads the rollup document schema of nextgen/esindex (written
// by nextgen/engine): one document per (customer, bucket start, Kafka
// partition, dimension tuple). A metric field absent from a document means
// 0, so metrics are added without reindexing.
const (
	fieldCustomer    = esindex.FieldCustomer
	fieldBucket      = esindex.FieldBucket
	fieldGranularity = esindex.FieldGranularity

	granularity5m = string(rollup.FiveMinutes)
	granularity1d = string(rollup.OneDay)
)

// dimField is the keyword field of a dimension ("" when the event had no
// value).
func dimField(dim string) string { return esindex.DimField(dim) }

// isDistinct reports whether metric counts distinct members (a
// cardinality over its v_ set) rather than adding up (a sum of its m_
// field), as the rollup registry defines it.
func isDistinct(metric string) bool {
	m, ok := rollup.DefaultRegistry.Metric(metric)
	return ok && m.Kind == rollup.Distinct
}

// metricField is the field a metric is computed from: the long m_<metric>
// for additive metrics (summed), the keyword array v_<metric> of visitor
// ids for distinct metrics (cardinality).
func metricField(metric string) string {
	if isDistinct(metric) {
		return esindex.SetField(metric)
	}
	return esindex.MetricField(metric)
}

// indexName names the index of granularity g holding bucket t.
func indexName(n esindex.Names, g string, t time.Time) string {
	return n.Index(rollup.Granularity(g), t)
}

// earliest returns the first bucket start of granularity g whose index is
// still kept at now (esindex deletes whole indices past retention).
func earliest(n esindex.Names, g string, now time.Time) time.Time {
	gr := rollup.Granularity(g)
	start, _, _ := n.Period(gr, n.Index(gr, now))
	for {
		prev := n.Index(gr, start.Add(-time.Nanosecond))
		ps, _, ok := n.Period(gr, prev)
		if !ok || n.Expired(gr, prev, now) {
			return start
		}
		start = ps
	}
}
