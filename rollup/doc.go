// Package rollup is the one aggregation code path of Brooks: it turns raw
// pixel events into rollup cells, the unit the nextgen stream engine stores
// in Elasticsearch and the audit replays to ground truth. It is pure Go: no
// server, no clock, no I/O.
//
// A cell is keyed by (customer, granularity, bucket start, Kafka partition,
// dimension tuple) and holds additive metrics (sums) and distinct-visitor
// sets, plus the offset watermark: the highest Kafka offset of the
// partition applied to it. Applying an event whose offset is at or below
// the watermark is a no-op, which is what makes a replay after a crash
// exact.
//
// Metrics and dimensions are defined once, as data, in a Registry
// (DefaultRegistry lists the language's). Adding a metric or a dimension is
// one entry in DefaultMetrics or DefaultDimensions: the cells grow a value,
// the Elasticsearch documents grow a field (m_*, v_* or d_* under dynamic
// templates) and documents written before read that field as zero.
//
// Batch use (the audit, tests):
//
//	r := rollup.New(customers, rollup.Options{})
//	for i, e := range events {
//		if err := r.Add(0, int64(i), &e); err != nil { ... }
//	}
//	for _, c := range r.Cells() {
//		fmt.Println(c.Key.Customer, c.BucketStart(), c.Dim("url"), c.Sum("pageviews"), c.Count("visitors"))
//	}
//
// The stream engine keeps its own table of cells (loaded from and flushed to
// Elasticsearch) and uses Registry.Fact, Registry.Keys and Cell.Apply
// directly.
package rollup
