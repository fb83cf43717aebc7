// Package rebuild is `brooks audit rebuild`: it rebuilds nextgen's rollup
// documents (5-minute and daily, tuple and site documents) for a customer
// and period from the raw-log archive, with rollup, the stream engine's
// own aggregation code, and puts back raw-store rows the archive has and
// Cassandra lacks.
//
//	o := rebuild.DefaultOptions()
//	o.Sink, o.Customers, o.ES, o.Raw = sink, customers, es, raw
//	o.Committed = rebuild.KafkaCommitted(brokers, "brooks-nextgen", topic)
//	res, err := rebuild.Run(ctx, o, "acme.example", from, to)
//
// # What a rebuilt document holds
//
// The archive keeps, per (customer, hour, Kafka partition), parts that
// follow each other in offset order; every record of that customer-hour
// on that partition at or below the last closed part's LastOffset is in a
// closed part (audit/README.md, "Duplicate"). A rebuilt document of a
// (customer, bucket, partition, tuple) is the rollup of every archived
// event of its bucket on its partition, counted once per eid, and its
// offset watermark is W: the highest LastOffset of the archive's parts of
// that customer, partition and hour (for a daily document: day). So the
// document holds exactly the events at offsets up to W, which is what the
// engine's watermark means.
//
// # Why the rebuild and the live engine cannot double-count or overwrite
// each other's newer data
//
//   - The engine applies a record to a document only when its offset is
//     above the document's watermark. A rebuilt document holds every record
//     of its cell at or below W, so the engine, reading it back, skips
//     exactly those and applies only later ones: nothing is counted twice,
//     nothing is lost.
//   - The rebuild writes a document only when the engine's consumer group
//     has committed past W on that partition (Options.Committed): the engine
//     has then applied and durably written every record up to W, so no
//     record at or below W is still on its way, and any newer engine state
//     of the cell has a watermark above W.
//   - Every rebuild write is conditional on the document's sequence number
//     and primary term as read (or a create when absent). If the engine
//     wrote in between, the write is refused (409), the document is read
//     again and judged again; the rebuild never overwrites a write it did
//     not see.
//   - A stored document whose watermark is above W holds records the
//     archive does not have yet: it is left alone (counted as "ahead").
//     This holds for a document the archive has no events for as well: it
//     is emptied only when W covers its watermark (a document of records
//     in parts not closed yet is not empty, only ahead of the archive).
//   - The engine's own writes are conditional too. When one is refused
//     because the rebuild wrote, the engine reads the stored watermark (W):
//     at or below its own (it committed past W), so it takes the new token
//     and writes its own state, which is newer: the engine's newer data wins
//     and the rebuild never makes the engine stop.
//
// Only settled hours are rebuilt (ended Options.Settle ago; daily
// documents once the whole day is settled), and hours with a refused
// archive part are skipped: their truth is incomplete.
//
// # Idempotent, resumable, throttled
//
// A document whose stored content (watermark aside) already equals the
// rebuilt one is not written, so a second run writes nothing. Documents
// stored for the period that the archive has no events for are written
// back empty (their watermark kept). Progress is checkpointed in Cassandra
// (audit_rebuild_checkpoints, per customer and scope) after each day's
// daily documents and after each hour's 5-minute documents; a killed run
// started again with the same scope skips what is done; a finished run
// deletes its checkpoint. Options.Rate caps the archive events read per
// second (golang.org/x/time/rate).
package rebuild
