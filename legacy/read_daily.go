package legacy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/brooksdata/brooks/query"
)

// dayDoc is a daily post document, or a site document (no post).
type dayDoc struct {
	Customer  string           `bson:"customer"`
	Post      string           `bson:"post"`
	Day       string           `bson:"day"`
	Pageviews int64            `bson:"pageviews"`
	Referrers map[string]int64 `bson:"referrers"`
}

// postDay is a post (or "" for the site) with page views on a day.
type postDay struct {
	post string
	day  time.Time
}

// readDaily reads the daily documents of the range from MongoDB: the site
// documents when the query neither groups nor filters by url, the posts'
// documents otherwise. For visitors it then counts the daily HyperLogLogs of
// what it found (PFCOUNT of several keys counts their union). It returns
// the series' visitors over the whole range when the query ranks by
// visitors.
func (s *Store) readDaily(ctx context.Context, p *plan, sh *shaper) (map[seriesKey]float64, error) {
	q := p.q
	var docs []dayDoc
	var err error
	if p.urls == nil && !p.groupURL {
		docs, err = s.readSiteDocs(ctx, p)
	} else {
		docs, err = s.readPostDocs(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	var found []postDay
	for _, d := range docs {
		day, err := time.Parse(DayLayout, d.Day)
		if err != nil {
			return nil, fmt.Errorf("daily document %s: day %q: %w", dayDocID(d.Customer, d.Day, d.Post), d.Day, err)
		}
		if p.groupRef || p.refs != nil {
			for ref, n := range d.Referrers {
				sh.addPageviews(d.Post, ref, day, n)
			}
		} else {
			sh.addPageviews(d.Post, "", day, d.Pageviews)
		}
		if d.Pageviews > 0 {
			found = append(found, postDay{d.Post, day})
		}
	}
	if !p.visitors || len(found) == 0 {
		return nil, nil
	}

	// Visitors: one PFCOUNT per point, over the keys the point covers.
	type countKey struct {
		post string // series post ("" unless grouped by url)
		t    time.Time
	}
	pointKeys := map[countKey]map[string]struct{}{}
	seriesKeys := map[seriesKey]map[string]struct{}{} // for ranking over the whole range
	for _, f := range found {
		post := ""
		if p.groupURL {
			post = f.post
		}
		day := f.day.Format(DayLayout)
		k := s.hllKey(q.Customer, day, f.post)
		if f.post == "" {
			k = s.siteHLLKey(q.Customer, day)
		}
		addKey(pointKeys, countKey{post, p.bucket(f.day)}, k)
		addKey(seriesKeys, sh.seriesID(post, ""), k)
	}
	pipe := s.rdb.Pipeline()
	counts := make(map[countKey]*redis.IntCmd, len(pointKeys))
	for ck, keys := range pointKeys {
		counts[ck] = pipe.PFCount(ctx, sortedKeys(keys)...)
	}
	var ranks map[seriesKey]*redis.IntCmd
	if q.Interval != query.IntervalTotal && strings.TrimPrefix(q.OrderBy, "-") == query.Visitors {
		ranks = make(map[seriesKey]*redis.IntCmd, len(seriesKeys))
		for id, keys := range seriesKeys {
			ranks[id] = pipe.PFCount(ctx, sortedKeys(keys)...)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("count visitors: %w", err)
	}
	for ck, cmd := range counts {
		sh.setVisitors(ck.post, ck.t, cmd.Val())
	}
	if ranks == nil {
		return nil, nil
	}
	rank := make(map[seriesKey]float64, len(ranks))
	for id, cmd := range ranks {
		rank[id] = float64(cmd.Val())
	}
	return rank, nil
}

// addKey adds a Redis key to the set of keys of k.
func addKey[K comparable](m map[K]map[string]struct{}, k K, key string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[key] = struct{}{}
}

// readSiteDocs reads the customer's site documents of the range.
func (s *Store) readSiteDocs(ctx context.Context, p *plan) ([]dayDoc, error) {
	filter := bson.D{
		{Key: "customer", Value: p.q.Customer},
		{Key: "day", Value: bson.D{{Key: "$gte", Value: dayOf(p.q.From)}, {Key: "$lt", Value: dayOf(p.q.To)}}},
	}
	cur, err := s.siteCollection().Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("read site documents: %w", err)
	}
	var docs []dayDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read site documents: %w", err)
	}
	for i := range docs {
		docs[i].Post = ""
	}
	return docs, nil
}

// dailyReaders is how many day collections a query reads at once.
const dailyReaders = 3

// readPostDocs reads the customer's post documents from the day
// collections of the range that exist (or looks up the filtered posts').
func (s *Store) readPostDocs(ctx context.Context, p *plan) ([]dayDoc, error) {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list day collections: %w", err)
	}
	from, to := dayOf(p.q.From), dayOf(p.q.To)
	var colls []string
	daySet := map[string]bool{}
	for _, n := range names {
		if d, ok := s.dayOfCollection(n); ok && d >= from && d < to {
			colls = append(colls, n)
			daySet[d] = true
		}
	}
	if p.urls != nil && len(p.urls)*len(daySet) <= maxLookups {
		return s.lookupPostDocs(ctx, p, sortedKeys(daySet))
	}
	filter := bson.D{{Key: "customer", Value: p.q.Customer}}
	if p.urls != nil {
		filter = append(filter, bson.E{Key: "post", Value: bson.D{{Key: "$in", Value: sortedKeys(p.urls)}}})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(dailyReaders)
	perDay := make([][]dayDoc, len(colls))
	for i, coll := range colls {
		g.Go(func() error {
			cur, err := s.db.Collection(coll).Find(gctx, filter, options.Find().SetBatchSize(5000))
			if err != nil {
				return fmt.Errorf("read post documents of %s: %w", coll, err)
			}
			if err := cur.All(gctx, &perDay[i]); err != nil {
				return fmt.Errorf("read post documents of %s: %w", coll, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var docs []dayDoc
	for _, d := range perDay {
		docs = append(docs, d...)
	}
	return docs, nil
}

// maxLookups bounds the documents a query filtered by url fetches one by
// one by _id. FerretDB evaluates an _id filter inside SQLite but any other
// filter in Go after decoding every document of the collection, so a few
// lookups by _id beat reading whole day collections.
const maxLookups = 2000

// lookupPostDocs fetches the filtered posts' documents of days by _id.
func (s *Store) lookupPostDocs(ctx context.Context, p *plan, days []string) ([]dayDoc, error) {
	posts := sortedKeys(p.urls)
	out := make([]dayDoc, len(days)*len(posts))
	ok := make([]bool, len(out))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(dailyReaders)
	for i, day := range days {
		for j, post := range posts {
			k := i*len(posts) + j
			c := s.dayCollection(day, p.q.Customer, post)
			g.Go(func() error {
				err := c.FindOne(gctx, bson.D{{Key: "_id", Value: dayDocID(p.q.Customer, day, post)}}).Decode(&out[k])
				switch {
				case err == nil:
					ok[k] = true
				case !errors.Is(err, mongo.ErrNoDocuments):
					return fmt.Errorf("read post document %s: %w", dayDocID(p.q.Customer, day, post), err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var docs []dayDoc
	for k, d := range out {
		if ok[k] {
			docs = append(docs, d)
		}
	}
	return docs, nil
}
