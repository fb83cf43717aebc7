// Package esindex is nextgen's Elasticsearch storage contract: index names,
// index templates, retention, and the rollup document schema the stream
// engine writes and the query engine reads.
//
// Indices. 5-minute rollups live in daily indices
// {prefix}-rollup-5m-YYYY.MM.DD (kept 8 days), 1-day rollups in yearly
// indices {prefix}-rollup-1d-YYYY (kept 2 years); read them through the
// patterns {prefix}-rollup-5m-* and {prefix}-rollup-1d-* (Pattern), or the
// aliases {prefix}-rollup-5m and {prefix}-rollup-1d (Alias) that the
// templates attach to every index. An index is deleted whole once every
// bucket in it is older than the retention (Expired, DeleteExpired).
// Templates: 1 shard, 0 replicas, refresh_interval Client.RefreshInterval (default 5s), and dynamic
// templates m_* → long, d_* → keyword, v_* → keyword, so a new metric or
// dimension needs no reindex. m_*, v_*, offset and partition have doc values
// only ("index": false): aggregate them, do not search on them.
//
// Documents. One per (customer, bucket, Kafka partition, dimension tuple),
// _id = {customer}|{bucket unix seconds}|{partition}|{tuple hash} (DocID;
// the hash is rollup.Registry.TupleHash: 32 hex digits). Fields:
//
//	customer            keyword   customer id (aid)
//	bucket              date      bucket start, UTC (RFC 3339)
//	granularity         keyword   "5m" or "1d"
//	partition           integer   Kafka partition of the events
//	offset              long      last Kafka offset of that partition applied to the doc
//	d_url, d_referrer_domain, d_referrer_category, d_campaign, d_device
//	                    keyword   dimension values; "" (empty string) when absent,
//	                              e.g. d_referrer_domain and d_campaign of direct,
//	                              campaign-less traffic (a filter on "" matches them)
//	m_pageviews, m_pings, m_engaged_seconds, m_video_starts
//	                    long      additive metrics: sum them
//	v_visitors, v_new_visitors, v_returning_visitors
//	                    keyword[] visitor ids seen in this doc's events: count
//	                              them with a cardinality aggregation, which
//	                              merges across buckets, partitions and tuples
//
// Site documents (Family Sites, Names.Of(Sites)) live in indices of their
// own, {prefix}-rollup-site-5m-YYYY.MM.DD and {prefix}-rollup-site-1d-YYYY
// (same retention): one per (customer, bucket, Kafka partition), the site
// cells of the rollup package, _id = {customer}|{bucket}|{partition}|site.
// They have "site": true, no d_* fields, the m_* sums, and per distinct
// metric its exact member count n_<name> (long doc values) beside its set
// v_<name>, kept in _source only (an object field with "enabled": false).
//
// Field names come from the registry: m_<name> for a Sum metric, v_<name>
// for a Distinct metric, d_<name> for a dimension (MetricField, SetField,
// DimField, Field). Documents are written with absolute values (the index
// op, full overwrite), never as increments.
package esindex
