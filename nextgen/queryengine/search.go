package queryengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/brooksdata/brooks/nextgen/esindex"
)

// collect runs req against the rollups and returns the values per series
// and bucket. Nothing is truncated: an answer that would exceed MaxPoints
// is an error.
//
// A series of 5-minute buckets is searched in 6-hour windows aligned to
// UTC (00, 06, 12, 18), each in its daily index, concurrently: a shard
// searches on one thread, so windows use the cores a single search leaves
// idle. A window that ended before now is searched whole and the buckets
// outside the range are dropped here: its search is then the same for
// every range, so Elasticsearch's request cache answers it again until that
// index changes. A dashboard's sliding "last 24 hours" recomputes only the
// windows of the last hours.
func (e *Engine) collect(ctx context.Context, req request) (*grid, error) {
	now := e.opts.Now().UTC()
	if req.site {
		return e.collectIndices(ctx, req, req.plan.indices(e.names.Of(esindex.Sites), now.Add(day)), part{})
	}
	slices := req.timeSlices(e.names, now, !e.opts.NoRequestCache)
	if slices == nil {
		return e.collectIndices(ctx, req, req.plan.indices(e.names, now.Add(day)), part{})
	}
	grids := make([]*grid, len(slices))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentSlices)
	for i, sl := range slices {
		g.Go(func() error {
			r := req
			r.plan.parts = []part{sl.search}
			var err error
			grids[i], err = e.collectIndices(gctx, r, []string{sl.index}, sl.keep)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := newGrid(req.metrics)
	for _, sub := range grids {
		out.merge(sub)
	}
	if out.points > e.opts.MaxPoints {
		return nil, e.tooManyPoints()
	}
	return out, nil
}

// sliceWindow is the span of one search of a 5-minute series, and
// maxConcurrentSlices how many run at once.
const (
	sliceWindow         = 6 * time.Hour
	maxConcurrentSlices = 4
)

// slice is one window's share of a 5-minute series.
type slice struct {
	index  string
	search part // what is searched: the range's share, or the whole window
	keep   part // the buckets kept: the range's share of the window
}

// timeSlices splits a 5-minute series into one search per 6-hour window,
// or returns nil when req is not one (totals, daily series, mixed plans).
// With widen, a window that ended by now is searched whole.
func (r *request) timeSlices(names esindex.Names, now time.Time, widen bool) []slice {
	if !r.withTime || len(r.plan.parts) != 1 || r.plan.parts[0].gran != granularity5m {
		return nil
	}
	p := r.plan.parts[0]
	var out []slice
	for w := p.from.Truncate(sliceWindow); w.Before(p.to) && !w.After(now); w = w.Add(sliceWindow) {
		keep := part{granularity5m, maxTime(p.from, w), minTime(p.to, w.Add(sliceWindow))}
		search := keep
		if widen && !w.Add(sliceWindow).After(now) {
			search = part{granularity5m, w, w.Add(sliceWindow)}
		}
		out = append(out, slice{index: indexName(names, granularity5m, w), search: search, keep: keep})
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (e *Engine) tooManyPoints() error {
	return unsupported("answers of more than %d points (series × buckets); narrow the range or the filters, or rank with order_by and limit", e.opts.MaxPoints)
}

// collectIndices runs req on indices, paging through the composite
// aggregation until its last page. When keep is set, buckets outside it are
// dropped.
func (e *Engine) collectIndices(ctx context.Context, req request, indices []string, keep part) (*grid, error) {
	g := newGrid(req.metrics)
	g.keep = keep
	if len(indices) == 0 {
		return g, nil
	}
	var after map[string]any
	for page := 0; ; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, err := req.body(after)
		if err != nil {
			return nil, fmt.Errorf("encode search: %w", err)
		}
		var resp searchResponse
		if err := e.search(ctx, indices, body, &resp); err != nil {
			return nil, err
		}
		e.metrics.pages.Inc()
		if len(resp.Aggregations) == 0 && resp.Hits.Total.Value == 0 {
			// None of the indices exists yet (allow_no_indices): Elasticsearch
			// answers without aggregations. Nothing there, nothing to add.
			return g, nil
		}
		switch req.shape() {
		case flat:
			if resp.Hits.Total.Value == 0 {
				return g, nil
			}
			vals, err := metricValues(resp.Aggregations, req.metrics)
			if err != nil {
				return nil, fmt.Errorf("read search: %w", err)
			}
			g.add(map[string]string{}, time.Time{}, vals)
			return g, nil
		case histogram:
			return g, readHistogram(g, resp.Aggregations[histogramAgg], req.metrics, req.site)
		}
		var comp compositeResult
		raw, ok := resp.Aggregations[compositeAgg]
		if !ok {
			return nil, fmt.Errorf("read search: no composite aggregation in response")
		}
		if err := json.Unmarshal(raw, &comp); err != nil {
			return nil, fmt.Errorf("read search: %w", err)
		}
		for _, b := range comp.Buckets {
			key, t, err := bucketKey(b["key"], req.dims, req.withTime)
			if err != nil {
				return nil, fmt.Errorf("read search: %w", err)
			}
			vals, err := metricValues(b, req.metrics)
			if err != nil {
				return nil, fmt.Errorf("read search: %w", err)
			}
			g.add(key, t, vals)
		}
		if g.points > e.opts.MaxPoints {
			return nil, e.tooManyPoints()
		}
		if len(comp.Buckets) < req.size() || comp.AfterKey == nil {
			return g, nil
		}
		after = comp.AfterKey
	}
}

// readHistogram adds a date_histogram's buckets to g as one series. With
// site, a bucket of more than one site document cannot answer a distinct
// metric: errSplitSite.
func readHistogram(g *grid, raw json.RawMessage, metrics []string, site bool) error {
	var h histogramResult
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("read search: date histogram: %w", err)
	}
	for _, b := range h.Buckets {
		var ms float64
		if err := json.Unmarshal(b["key"], &ms); err != nil {
			return fmt.Errorf("read search: date histogram key: %w", err)
		}
		if site && hasDistinct(metrics) {
			var docs int
			if err := json.Unmarshal(b["doc_count"], &docs); err != nil {
				return fmt.Errorf("read search: date histogram doc_count: %w", err)
			}
			if docs > 1 {
				return errSplitSite
			}
		}
		vals, err := metricValues(b, metrics)
		if err != nil {
			return fmt.Errorf("read search: %w", err)
		}
		g.add(map[string]string{}, time.UnixMilli(int64(ms)).UTC(), vals)
	}
	return nil
}

// search runs one search on indices (missing indices mean no documents)
// and decodes the response into out.
func (e *Engine) search(ctx context.Context, indices []string, body []byte, out *searchResponse) error {
	start := time.Now()
	res, err := e.es.Search(
		e.es.Search.WithContext(ctx),
		e.es.Search.WithIndex(indices...),
		e.es.Search.WithBody(bytes.NewReader(body)),
		e.es.Search.WithIgnoreUnavailable(true),
		e.es.Search.WithAllowNoIndices(true),
		e.es.Search.WithAllowPartialSearchResults(false),
		e.es.Search.WithRequestCache(!e.opts.NoRequestCache),
	)
	e.metrics.esDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		e.metrics.esErrors.WithLabelValues("transport").Inc()
		return &BackendError{Store: "elasticsearch", Err: err}
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		e.metrics.esErrors.WithLabelValues("status").Inc()
		err := fmt.Errorf("search %s: %s: %s", indices[0], res.Status(), esReason(b))
		if res.StatusCode >= 500 || res.StatusCode == 429 {
			return &BackendError{Store: "elasticsearch", Err: err}
		}
		return err
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		e.metrics.esErrors.WithLabelValues("decode").Inc()
		return fmt.Errorf("decode search response: %w", err)
	}
	if sh := out.Shards; sh.Failed > 0 || out.TimedOut {
		// Partial results would be wrong answers: never pass them on.
		e.metrics.esErrors.WithLabelValues("partial").Inc()
		return &BackendError{Store: "elasticsearch", Err: fmt.Errorf("search %s: %d of %d shards failed (timed out: %v)", indices[0], sh.Failed, sh.Total, out.TimedOut)}
	}
	return nil
}

// esReason extracts the root cause from an Elasticsearch error body.
func esReason(body []byte) string {
	var eb struct {
		Error struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) != nil || eb.Error.Type == "" {
		return string(body)
	}
	if len(eb.Error.RootCause) > 0 {
		rc := eb.Error.RootCause[0]
		return rc.Type + ": " + rc.Reason
	}
	return eb.Error.Type + ": " + eb.Error.Reason
}
