// Package engine is nextgen's stream engine, run by `brooks nextgen run`:
// it consumes the raw-pixel topic in its own consumer group, keeps every
// event once per event id in Cassandra (nextgen/rawstore) and keeps the
// 5-minute and 1-day rollups of every metric and dimension in
// Elasticsearch (nextgen/esindex), aggregated by the one code path shared
// with the audit (rollup) — exactly once in effect, through crashes,
// kill -9 and rebalances.
//
// Each assigned partition has one writer, which owns its rollup documents
// (the partition is part of every document id) and keeps them in memory as
// a write-back cache. A partition's records go through four steps:
//
//  1. batch: the raw store writes the batch and says which records are
//     fresh (first with their eid) and which are retries;
//  2. apply: fresh records are added to their 5m and 1d cells, unless the
//     cell's offset watermark already covers them (a replay);
//  3. flush: changed documents are bulk-written with absolute values and
//     conditional writes, so a stale owner cannot overwrite a newer one;
//  4. commit: the Kafka offset is committed only after every document and
//     raw row holding the records is written.
//
// Usage:
//
//	o := engine.DefaultOptions()
//	o.Brokers, o.Topic, o.Customers, o.Raw, o.ES = brokers, topic, customers, raw, es
//	o.Logger, o.Registerer = log, reg
//	eng, err := engine.New(o)
//	err = eng.Run(ctx) // until ctx ends: then every partition flushes, commits and leaves
//
// nextgen/README.md ("Exactly once in effect") lists each failure and why
// nothing is lost or counted twice; the metrics are brooks_nextgen_*.
package engine
