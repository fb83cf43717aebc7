package queryengine

import (
	"errors"

	"github.com/brooksdata/brooks/query"
)

// Site documents (esindex.Sites) hold, per customer, bucket and Kafka
// partition, every additive metric's sum and every distinct metric's exact
// member count (n_*), written by the partition's one writer from the
// bucket's whole visitor set. A query without group-by and filters reads
// them instead of the tuple documents: one small document per bucket
// instead of one per dimension tuple, and no cardinality sketches, so a
// 24-hour 5-minute series reads 288 documents and a 2-year daily series
// 730, with exact distinct counts.
//
// The topic is keyed by customer, so each bucket of a customer has one
// site document. Exact counts add across buckets only where the sets are
// disjoint, which they are not, so:
//
//   - a 5m or 1d series reads one site document per bucket: each count is
//     the bucket's own;
//   - a total reads site documents only for additive metrics (sums add);
//     with a distinct metric it reads the tuple documents (cardinality
//     merges their visitor sets across buckets);
//   - a bucket with more than one site document (the customer's events came
//     through more than one partition: the topic's partition count
//     changed) cannot give a distinct count by addition: the query is
//     answered again from the tuple documents (errSplitSite), counted in
//     brooks_nextgen_query_site_fallbacks_total.

// errSplitSite: a bucket has site documents from more than one partition.
var errSplitSite = errors.New("a bucket has site documents from more than one partition")

// siteAnswerable reports whether q can be read from site documents.
func siteAnswerable(q *query.Query) bool {
	if len(q.GroupBy) > 0 || len(q.Filters) > 0 {
		return false
	}
	switch q.Interval {
	case query.Interval5m, query.Interval1d:
		return true
	case query.IntervalTotal:
		return !hasDistinct(q.Metrics)
	}
	return false
}

// hasDistinct reports whether metrics has a distinct metric.
func hasDistinct(metrics []string) bool {
	for _, m := range metrics {
		if isDistinct(m) {
			return true
		}
	}
	return false
}
