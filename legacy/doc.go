// Package legacy is System One, the analytics backend Brooks migrates away
// from, reproduced faithfully so that Brooks has a real "old side" to verify
// nextgen against.
//
// System One pre-aggregates page views. Its ingester ([Ingester]) consumes
// the Kafka raw-pixel topic (its own consumer group, "brooks-legacy"),
// keeps only page views of URLs that match the customer's post pattern (the
// post is its unit of tracking), adds them up in memory and flushes every
// few seconds:
//
//   - Redis: one HASH per customer and 5-minute bucket,
//     {prefix}pv5m:{customer}:{bucketUnix}, field "{post}\x1f{referrer
//     category}" → page views, plus the site's total per referrer category
//     (field "\x1f{category}"), expiring 8 days after the bucket (the past
//     24 hours plus a week-ago benchmark); and the "experimental" visitors
//     metric: a HyperLogLog of visitor ids per customer/post/day,
//     {prefix}hll:{customer}:{day}:{post}, plus one per customer/day for the
//     whole site, {prefix}hllsite:{customer}:{day}, kept 30 days.
//   - MongoDB: one document per customer/post/UTC day with the day's page
//     views and their referrer-category breakdown, upserted with $inc in
//     unordered bulk writes, and one per customer/day with the site's
//     totals (collection site_days). The post documents of a day are spread
//     over 8 collections, post_days_YYYYMMDD_N (see [Store] for why).
//
// A flush is a pipeline beside the consumption: each window goes to Redis
// within seconds; MongoDB gets the windows' daily totals merged into one
// bulk upsert at a time; the Kafka offsets are committed only once both
// stores have them: delivery is at-least-once, as it was in System One. A
// crash after a flush and before its commit replays the uncommitted records
// on restart, and their page views are counted twice (Redis counters, Mongo
// totals); the HyperLogLogs are unaffected (adding a visitor twice changes
// nothing). Within one process, a retried pixel (same eid) seen in the
// current or the previous flush window is counted once; across a crash it
// is not. The audit (the ledger's legacy stage and the replay) catches such
// double counts.
//
// The query API ([Server], `POST /v1/query`) answers the part of Brooks' one
// query language (package query) System One can: page views, and
// approximate visitors, for a customer, filtered by post URL or referrer
// category, grouped by url and/or referrer_category, at 5-minute
// granularity (Redis, last 8 days), 1-day granularity (MongoDB and the daily
// HyperLogLogs) or as one total, with top-N ranking. Everything else gets a
// *query.UnsupportedError (HTTP 422) naming what legacy lacks. See
// legacy/README.md for the API with curl examples.
package legacy
