package queryengine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/query"
)

// timeSource names the composite source of the bucket time; no dimension
// is called "t".
const timeSource = "t"

// compositeAgg names the composite aggregation; histogramAgg the
// date_histogram of series without group-by.
const (
	compositeAgg = "g"
	histogramAgg = "h"
)

// request is one Elasticsearch search over the rollups: the documents of a
// customer selected by the plan and the filters, grouped by dims (and time,
// unless the plan is a total), with one aggregation per metric.
type request struct {
	customer  string
	plan      plan
	filters   map[string][]string // dimension → accepted values (AND across dimensions)
	restrict  map[string][]string // more filters, from a top-N ranking pass
	dims      []string            // group-by dimensions, in query order
	withTime  bool                // group by the plan's histogram
	metrics   []string
	pageSize  int
	threshold int // cardinality precision_threshold
	// site reads the site documents (esindex.Sites): sums of m_* and of the
	// exact counts n_*, no dimensions (see site.go).
	site bool
}

// The shape of a search's aggregations.
type shape int

const (
	// flat: one total, metrics aggregated at the top.
	flat shape = iota
	// histogram: one series of buckets, a date_histogram (min_doc_count 1)
	// with the metrics below it: one search, no paging (a series has at most
	// a few thousand buckets), and cheaper than a composite, which replays
	// the matching documents to its sub-aggregations.
	histogram
	// composite: series by dimensions (and bucket), a composite aggregation
	// paged with after_key.
	composite
)

func (r *request) shape() shape {
	switch {
	case len(r.dims) > 0:
		return composite
	case r.withTime && r.buckets()*r.sketchBytes() <= sketchBudget:
		return histogram
	case r.withTime:
		return composite // paged, so the sketches of a page stay in budget
	}
	return flat
}

// sketchBudget bounds the memory the cardinality sketches of one search
// response may take in Elasticsearch. A bucket of a cardinality
// aggregation allocates a HyperLogLog of 2^p bytes (256 KiB at p = 18), so
// a page of 1000 buckets at p = 18 would need 256 MiB and, with a few
// searches at once, trip the request circuit breaker (429).
const sketchBudget = 32 << 20

// sketchBytes is the cardinality sketch memory of one bucket: 2^p bytes
// per distinct metric.
func (r *request) sketchBytes() int {
	if r.site {
		return 0 // exact counts are summed: no sketches
	}
	n := 0
	for _, m := range r.metrics {
		if isDistinct(m) {
			n++
		}
	}
	return n << Precision(r.threshold)
}

// buckets is how many time buckets the request's parts span.
func (r *request) buckets() int {
	step := query.Step(r.plan.histogram)
	if step == 0 {
		return 1
	}
	n := 0
	for _, p := range r.plan.parts {
		n += int(p.to.Sub(p.from) / step)
	}
	return n
}

// size is the composite page size: the configured one, smaller when the
// page's sketches would exceed sketchBudget.
func (r *request) size() int {
	if b := r.sketchBytes(); b > 0 {
		return max(1, min(r.pageSize, sketchBudget/b))
	}
	return r.pageSize
}

// body renders the search body; after is the composite after_key of the
// previous page (nil for the first).
func (r *request) body(after map[string]any) ([]byte, error) {
	filter := []any{term(fieldCustomer, r.customer), r.partsFilter()}
	for _, fs := range []map[string][]string{r.filters, r.restrict} {
		for _, d := range slices.Sorted(maps.Keys(fs)) {
			filter = append(filter, map[string]any{"terms": map[string]any{dimField(d): fs[d]}})
		}
	}
	metricAggs := map[string]any{}
	for _, m := range r.metrics {
		switch {
		case r.site && isDistinct(m):
			metricAggs[m] = map[string]any{"sum": map[string]any{"field": esindex.CountField(m)}}
		case isDistinct(m):
			metricAggs[m] = map[string]any{"cardinality": map[string]any{"field": metricField(m), "precision_threshold": r.threshold}}
		default:
			metricAggs[m] = map[string]any{"sum": map[string]any{"field": metricField(m)}}
		}
	}
	b := map[string]any{
		"size":             0,
		"track_total_hits": r.shape() == flat,
		"query":            map[string]any{"bool": map[string]any{"filter": filter}},
	}
	switch r.shape() {
	case flat:
		b["aggs"] = metricAggs
		return json.Marshal(b)
	case histogram:
		b["aggs"] = map[string]any{histogramAgg: map[string]any{
			"date_histogram": map[string]any{"field": fieldBucket, "fixed_interval": r.plan.histogram, "min_doc_count": 1},
			"aggs":           metricAggs,
		}}
		return json.Marshal(b)
	}
	var sources []any
	for _, d := range r.dims {
		sources = append(sources, map[string]any{d: map[string]any{"terms": map[string]any{"field": dimField(d), "missing_bucket": true}}})
	}
	if r.withTime {
		sources = append(sources, map[string]any{timeSource: map[string]any{"date_histogram": map[string]any{"field": fieldBucket, "fixed_interval": r.plan.histogram}}})
	}
	comp := map[string]any{"size": r.size(), "sources": sources}
	if after != nil {
		comp["after"] = after
	}
	b["aggs"] = map[string]any{compositeAgg: map[string]any{"composite": comp, "aggs": metricAggs}}
	return json.Marshal(b)
}

// partsFilter selects the plan's documents: the bucket range of each part,
// and its granularity when the plan mixes them (the indices read hold one
// granularity each, so a single part needs no granularity term).
func (r *request) partsFilter() any {
	bucketRange := func(p part) any {
		return map[string]any{"range": map[string]any{fieldBucket: map[string]any{
			"gte": p.from.UTC().Format(time.RFC3339), "lt": p.to.UTC().Format(time.RFC3339),
		}}}
	}
	if len(r.plan.parts) == 1 {
		return bucketRange(r.plan.parts[0])
	}
	var should []any
	for _, p := range r.plan.parts {
		should = append(should, map[string]any{"bool": map[string]any{"filter": []any{term(fieldGranularity, p.gran), bucketRange(p)}}})
	}
	return map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}}
}

func term(field, value string) any {
	return map[string]any{"term": map[string]any{field: value}}
}

// searchResponse is the part of a search response the engine reads.
type searchResponse struct {
	TimedOut bool `json:"timed_out"`
	Shards   struct {
		Total  int `json:"total"`
		Failed int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
	} `json:"hits"`
	Aggregations map[string]json.RawMessage `json:"aggregations"`
}

type compositeResult struct {
	AfterKey map[string]any               `json:"after_key"`
	Buckets  []map[string]json.RawMessage `json:"buckets"`
}

// histogramResult is a date_histogram's buckets: each has "key" (epoch
// milliseconds), "doc_count" and the metric aggregations.
type histogramResult struct {
	Buckets []map[string]json.RawMessage `json:"buckets"`
}

type valueAgg struct {
	Value *float64 `json:"value"`
}

// metricValues reads one value per metric from aggregations (a composite
// bucket or the top level).
func metricValues(aggs map[string]json.RawMessage, metrics []string) (map[string]float64, error) {
	vals := make(map[string]float64, len(metrics))
	for _, m := range metrics {
		raw, ok := aggs[m]
		if !ok {
			return nil, fmt.Errorf("response lacks aggregation %q", m)
		}
		var v valueAgg
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("aggregation %q: %w", m, err)
		}
		if v.Value != nil {
			vals[m] = *v.Value
		}
	}
	return vals, nil
}

// bucketKey reads a composite bucket's key: the dimension values (null, a
// document without the field, reads as "") and the bucket time.
func bucketKey(raw json.RawMessage, dims []string, withTime bool) (map[string]string, time.Time, error) {
	var key map[string]any
	if err := json.Unmarshal(raw, &key); err != nil {
		return nil, time.Time{}, fmt.Errorf("bucket key: %w", err)
	}
	k := make(map[string]string, len(dims))
	for _, d := range dims {
		switch v := key[d].(type) {
		case string:
			k[d] = v
		case nil:
			k[d] = ""
		default:
			return nil, time.Time{}, fmt.Errorf("bucket key %s: unexpected %T", d, v)
		}
	}
	var t time.Time
	if withTime {
		ms, ok := key[timeSource].(float64)
		if !ok {
			return nil, time.Time{}, fmt.Errorf("bucket key %s: want epoch milliseconds, got %v", timeSource, key[timeSource])
		}
		t = time.UnixMilli(int64(ms)).UTC()
	}
	return k, t, nil
}
