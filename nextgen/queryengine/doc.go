// Package queryengine answers Brooks' query language (package query) from
// nextgen's Elasticsearch rollups, and raw-event drill-down from Cassandra;
// nextgen/api serves it over HTTP.
//
// A query is planned (plan.go) onto the rollups that can answer it: 5m
// queries read the 5-minute rollups (8 days), 1d queries the 1-day
// rollups (2 years), total queries the 1-day rollups for whole UTC days
// and the 5-minute ones for the partial days at the ends. Queries without
// group-by or filters read the small per-bucket site documents, whose
// distinct counts are exact; the others read the tuple documents through a
// composite aggregation, paged so nothing is truncated, with distinct
// counts from a cardinality aggregation whose error the answer states in
// "approximate". A range before the data kept, or an answer above
// MaxPoints, is refused with *query.UnsupportedError (422) naming what
// would answer it; a store failure is *BackendError (503); an unknown
// customer is *query.UnknownCustomerError (400 unknown_customer).
//
// Usage:
//
//	o := queryengine.DefaultOptions()
//	o.Customers, o.Raw, o.Logger, o.Registerer = customers, rawStore, log, reg
//	eng, err := queryengine.New(esClient, o)
//	ans, err := eng.Execute(ctx, q)                  // a query of the language
//	raw, err := eng.Raw(ctx, queryengine.RawRequest{Customer: c, Hour: h})
//
// internal/testkit/enginetest holds the oracle (Truth) every answer is
// tested against, on real Elasticsearch.
package queryengine
