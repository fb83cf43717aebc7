package legacy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// futureSlack is how far past the clock a read still looks for buckets
// (clock skew between the collector and legacy).
const futureSlack = time.Hour

// Answer answers a valid query (query.Validate) for a known customer from
// System One's stores. A query beyond legacy's abilities gets a
// *query.UnsupportedError naming what it lacks.
func (s *Store) Answer(ctx context.Context, q *query.Query) (*query.Answer, error) {
	now := s.opts.Now()
	p, err := planQuery(q, now, s.opts)
	if err != nil {
		return nil, err
	}
	sh := newShaper(p)
	var rank map[seriesKey]float64
	switch p.src {
	case fromRedis5m:
		err = s.read5m(ctx, p, sh, now)
	case fromDaily:
		rank, err = s.readDaily(ctx, p, sh)
	}
	if err != nil {
		return nil, err
	}
	return sh.answer(rank), nil
}

// refCategories are the values of the referrer_category dimension.
var refCategories = []string{pixel.RefSearch, pixel.RefSocial, pixel.RefInternal, pixel.RefDirect, pixel.RefOther}

// maxHMGetFields bounds the fields a 5-minute read picks one by one (HMGET);
// beyond it reading the whole hash (HGETALL) is cheaper.
const maxHMGetFields = 500

// read5m reads the 5-minute hashes of the range with one pipeline: the
// site's fields (HMGET) when the query neither groups nor filters by url,
// the filtered posts' fields (HMGET) when it filters by a few urls, every
// field (HGETALL) otherwise.
func (s *Store) read5m(ctx context.Context, p *plan, sh *shaper, now time.Time) error {
	end := p.q.To
	if limit := now.Add(futureSlack).Truncate(Step5m); end.After(limit) {
		end = limit
	}
	var buckets []time.Time
	for t := p.q.From; t.Before(end); t = t.Add(Step5m) {
		buckets = append(buckets, t)
	}
	if len(buckets) == 0 {
		return nil
	}
	var fields []string // nil: every field
	switch {
	case p.urls == nil && !p.groupURL:
		for _, ref := range refCategories {
			fields = append(fields, pvField("", ref))
		}
	case p.urls != nil && len(p.urls)*len(refCategories) <= maxHMGetFields:
		for _, post := range sortedKeys(p.urls) {
			for _, ref := range refCategories {
				fields = append(fields, pvField(post, ref))
			}
		}
	}
	pipe := s.rdb.Pipeline()
	all := make([]*redis.MapStringStringCmd, len(buckets))
	picked := make([]*redis.SliceCmd, len(buckets))
	for i, t := range buckets {
		if fields == nil {
			all[i] = pipe.HGetAll(ctx, s.pv5mKey(p.q.Customer, t))
		} else {
			picked[i] = pipe.HMGet(ctx, s.pv5mKey(p.q.Customer, t), fields...)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("read 5-minute buckets: %w", err)
	}
	add := func(i int, field, v string) error {
		post, ref, ok := splitPVField(field)
		if !ok || (post == "") != (fields != nil && p.urls == nil) {
			return nil // not a page-view field, or a site field in a per-post read
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("read 5-minute bucket %s: field %q: %w", s.pv5mKey(p.q.Customer, buckets[i]), field, err)
		}
		sh.addPageviews(post, ref, buckets[i], n)
		return nil
	}
	for i := range buckets {
		if fields == nil {
			for field, v := range all[i].Val() {
				if err := add(i, field, v); err != nil {
					return err
				}
			}
			continue
		}
		for j, v := range picked[i].Val() {
			if sv, ok := v.(string); ok {
				if err := add(i, fields[j], sv); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
