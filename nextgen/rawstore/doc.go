// Package rawstore is nextgen's raw event store in Cassandra: every pixel
// the stream engine consumes is kept, once per event id, in
//
//	raw_events ((customer, hour), eid)
//	  kafka_partition int, kafka_offset bigint,
//	  event text (the Kafka record value, JSON: receive time, type, ...)
//
// partitioned by (customer, UTC hour of the receive time) for drill-down and
// the audit (Read, Each).
//
// The store is also the authority on event ids: Insert decides, for a batch
// of records in partition order, which are the first occurrence of their eid
// (the origin) and which repeat one (a tracker retry, a Kafka producer
// retry). It looks the eids up in the record's hour and the hours before
// (Options.LookbackHours, default 2: a retry is recognised when it arrives
// in the same or the next UTC hour as the original, so always within 60
// minutes), writes only origins, and remembers each origin's Kafka
// (partition, offset). A record found stored with its own (partition,
// offset) is the origin being replayed after a crash: it is reported fresh
// again, so the engine re-applies it (the rollup watermark then skips it
// where it was already counted). INSERT is an upsert, so replays write
// nothing new.
//
// A batch costs one SELECT ... eid IN (...) per (customer, hour, chunk of
// LookupChunk eids) per lookback hour, and single-partition unlogged batches
// of at most BatchBytes for the writes, rows in eid (clustering) order, run
// concurrently.
package rawstore
