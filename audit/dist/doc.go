// Package dist spreads a replay over many machines: `brooks audit replay
// --distributed` splits its scope into (customer, hour) tasks published to
// a Kafka topic (DefaultTopic), and any number of `brooks audit worker`
// processes in one consumer group (DefaultGroup, through shadow/tee's
// consumer) take them. A worker replays its hour exactly as the replay
// does (replay.Build: parts verified against their manifests, once per
// eid with the hour before read for eids, rollup at 5m and 1d), compares
// that hour of the archive with the raw store, and stores the result —
// the hour's rollup cells as rollup documents (esindex.AppendDoc), its
// tallies and refused parts — in Cassandra (audit_tasks), keyed by (run,
// customer, hour). Only then is the task's offset durable.
//
// Nothing is counted twice: a worker that is killed before storing a
// result leaves its task uncommitted, and the group gives the partition
// to another worker, which does the task again; a result stored twice
// (a worker killed after storing, before committing) overwrites its own
// row with the same content, because the key is the task, not the worker.
// A worker skips a task whose result is stored already. The coordinator
// waits until every hour has its result, merges the cells (5-minute cells
// belong to one hour; daily cells add sums and unite visitor sets across
// hours) into one Truth and judges it with replay.Judge, as a local replay.
//
// One difference from a local replay: an eid is counted once within its
// hour and the hour before (nextgen's own lookback); a local replay also
// skips a retry that comes back more than an hour later.
package dist
