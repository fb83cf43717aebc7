// Package faults plants faults into legacy or nextgen for one customer
// and time range, acting on the real stores, so that the verifier (the
// audit replay, the shadow comparer) can be shown to catch them: `brooks
// faults` and `make verify` use it.
//
// Most kinds are faults of the data path: the system at fault behaves as
// if it had seen a different event stream (events dropped, doubled,
// shifted by a bucket, a URL normalised differently, visitor ids
// inflated). Planting reads the customer's true events from the raw-log
// archive, transforms those inside the fault's range ([Transform]) and
// writes into the system's own stores what its aggregation would have
// written for the faulted stream:
//
//   - nextgen: the Elasticsearch rollup documents (5-minute and daily,
//     tuple and site) that differ are rewritten with rollup, the stream
//     engine's own code, keeping each document's offset watermark, so the
//     engine does not re-apply records it has;
//   - legacy: the difference in page views is applied to the Redis
//     5-minute hashes (HINCRBY) and the MongoDB daily post and site
//     documents ($inc), new visitor ids are added to the daily
//     HyperLogLogs (PFADD).
//
// A whole day missing from daily history deletes the day's daily
// documents (nextgen: the 1d tuple and site documents; legacy: the
// MongoDB day documents and the day's HyperLogLogs); 5-minute buckets are
// left as they are.
//
// A stale answer is a fault of the query path, planted honestly where it
// happens: [Stale] wraps one system's query client, as a proxy-side fault
// injector would, and from the moment it freezes answers every question
// from its cache. Nothing in the stores changes.
//
// Every plant returns an [Undo] that puts the stores back as they were
// (documents and HyperLogLogs are saved before they change), so faults
// can be planted one after the other on one running stack.
//
// Kinds that cannot be planted in a system are listed in [Kinds] with the
// reason; see the README's fault table for what the verifier caught.
package faults
