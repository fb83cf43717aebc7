package legacy

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Retention and granularity of System One's stores.
const (
	// Step5m is the width of a real-time bucket.
	Step5m = 5 * time.Minute
	// Day is the width of a daily bucket (UTC).
	Day = 24 * time.Hour
	// DayLayout formats a UTC day as stored in keys and documents.
	DayLayout = "2006-01-02"
	// HLLRelativeStdError is the standard error of Redis' HyperLogLog
	// (16384 registers): 1.04/sqrt(16384).
	HLLRelativeStdError = 0.0081
)

// fieldSep separates the post URL from the referrer category in a 5-minute
// hash field; URLs never contain it.
const fieldSep = "\x1f"

// Options configure where and how long System One keeps its data.
type Options struct {
	// KeyPrefix starts every Redis key ("legacy:"); tests use a unique one.
	KeyPrefix string
	// Collection prefixes the MongoDB collections of daily post documents,
	// DayShards per UTC day: "post_days_20261125_3".
	Collection string
	// DayShards is how many collections share a day's post documents.
	DayShards int
	// SiteCollection holds one document per customer and UTC day with the
	// whole site's totals ("site_days").
	SiteCollection string
	// Retention5m is how long 5-minute buckets are kept after they end
	// (8 days: the past 24 hours plus a week-ago benchmark).
	Retention5m time.Duration
	// RetentionVisitors is how long the daily visitor HyperLogLogs are kept
	// after their day ends.
	RetentionVisitors time.Duration
	// Now is the clock deciding what has expired (time.Now when nil).
	Now func() time.Time
}

// DefaultOptions returns System One's production settings.
func DefaultOptions() Options {
	return Options{
		KeyPrefix:         "legacy:",
		Collection:        "post_days",
		SiteCollection:    "site_days",
		DayShards:         8,
		Retention5m:       8 * Day,
		RetentionVisitors: 30 * Day,
		Now:               time.Now,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Collection == "" {
		o.Collection = d.Collection
	}
	if o.SiteCollection == "" {
		o.SiteCollection = d.SiteCollection
	}
	if o.DayShards <= 0 {
		o.DayShards = d.DayShards
	}
	if o.Retention5m <= 0 {
		o.Retention5m = d.Retention5m
	}
	if o.RetentionVisitors <= 0 {
		o.RetentionVisitors = d.RetentionVisitors
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Store is System One's storage: Redis for the real-time buckets and the
// visitor HyperLogLogs, MongoDB for the daily history. The ingester writes
// it, the query API reads it.
//
// The daily post documents live in DayShards collections per UTC day. A
// real MongoDB would serve them from one collection through its indexes,
// but FerretDB 1.24 on SQLite scans the whole collection for every query
// and every upsert (even by _id, whose SQL expression misses its index): in
// one collection the flush would slow down with every day of history.
// Small day collections keep an upsert's cost to a fraction of one day's
// documents, make a range query read only its days, and make retention a
// collection drop (FerretDB has no TTL indexes). Each carries the indexes
// of the query patterns, for a real MongoDB.
type Store struct {
	rdb     redis.UniversalClient
	db      *mongo.Database
	opts    Options
	indexed sync.Map // collection names whose indexes exist
}

// NewStore uses an open Redis client and MongoDB database.
func NewStore(rdb redis.UniversalClient, db *mongo.Database, opts Options) *Store {
	return &Store{rdb: rdb, db: db, opts: opts.withDefaults()}
}

// Connect opens the Redis and MongoDB clients for a Store; close it with
// Close.
func Connect(ctx context.Context, redisAddr, mongoURI, database string, opts Options) (*Store, error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 16})
	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(mongoURI).SetTimeout(2*time.Minute))
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect mongo: %w", err)
	}
	return NewStore(rdb, mc.Database(database), opts), nil
}

// Close closes both clients.
func (s *Store) Close(ctx context.Context) error {
	return errors.Join(s.rdb.Close(), s.db.Client().Disconnect(ctx))
}

// Options returns the store's settings.
func (s *Store) Options() Options { return s.opts }

// Ping checks both servers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := s.db.Client().Ping(ctx, nil); err != nil {
		return fmt.Errorf("mongo: %w", err)
	}
	return nil
}

// dayCollection is the collection holding a post's document of a UTC day:
// the day's documents are spread over DayShards collections by a hash of
// customer and post, "post_days_20261125_3".
func (s *Store) dayCollection(day, customer, post string) *mongo.Collection {
	h := fnv.New32a()
	h.Write([]byte(customer))
	h.Write([]byte{0})
	h.Write([]byte(post))
	return s.db.Collection(s.opts.Collection + "_" + strings.ReplaceAll(day, "-", "") + "_" + strconv.Itoa(int(h.Sum32()%uint32(s.opts.DayShards))))
}

// dayOfCollection returns the day ("2026-11-25") of a day collection name.
func (s *Store) dayOfCollection(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, s.opts.Collection+"_")
	d, shard, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(d) != 8 {
		return "", false
	}
	if _, err := strconv.Atoi(shard); err != nil {
		return "", false
	}
	day := d[:4] + "-" + d[4:6] + "-" + d[6:]
	if _, err := time.Parse(DayLayout, day); err != nil {
		return "", false
	}
	return day, true
}

func (s *Store) siteCollection() *mongo.Collection { return s.db.Collection(s.opts.SiteCollection) }

// Indexes of the query patterns.
var (
	postDayIndexes = []mongo.IndexModel{
		{Keys: bson.D{{Key: "customer", Value: 1}, {Key: "post", Value: 1}, {Key: "day", Value: 1}},
			Options: options.Index().SetName("customer_post_day").SetUnique(true)},
		{Keys: bson.D{{Key: "customer", Value: 1}, {Key: "day", Value: 1}},
			Options: options.Index().SetName("customer_day")},
	}
	siteDayIndexes = []mongo.IndexModel{
		{Keys: bson.D{{Key: "customer", Value: 1}, {Key: "day", Value: 1}},
			Options: options.Index().SetName("customer_day").SetUnique(true)},
	}
)

// EnsureSchema creates the site collection's index, idempotently. Each day
// collection gets its indexes on its first write: a unique index on
// customer/post/day (one document per post and day) and customer/day (a
// customer's posts over a range of days).
func (s *Store) EnsureSchema(ctx context.Context) error {
	if err := s.ensureIndexes(ctx, s.siteCollection(), siteDayIndexes); err != nil {
		return err
	}
	return nil
}

// ensureIndexes creates the missing indexes of c once per process.
func (s *Store) ensureIndexes(ctx context.Context, c *mongo.Collection, want []mongo.IndexModel) error {
	if _, ok := s.indexed.Load(c.Name()); ok {
		return nil
	}
	// FerretDB 1.24 panics on createIndexes for an index that already
	// exists, so create only the missing ones.
	have := map[string]bool{}
	cur, err := c.Indexes().List(ctx)
	if err != nil {
		return fmt.Errorf("list indexes on %s: %w", c.Name(), err)
	}
	var specs []bson.M
	if err := cur.All(ctx, &specs); err != nil {
		return fmt.Errorf("list indexes on %s: %w", c.Name(), err)
	}
	for _, sp := range specs {
		if name, ok := sp["name"].(string); ok {
			have[name] = true
		}
	}
	var missing []mongo.IndexModel
	for _, m := range want {
		if !have[*m.Options.Name] {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		if _, err := c.Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes on %s: %w", c.Name(), err)
		}
	}
	s.indexed.Store(c.Name(), struct{}{})
	return nil
}

// Migrate creates System One's MongoDB indexes in database (see
// EnsureSchema); Redis needs no schema.
func Migrate(ctx context.Context, mongoURI, database string) error {
	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(mongoURI).SetTimeout(30*time.Second))
	if err != nil {
		return fmt.Errorf("connect mongo: %w", err)
	}
	defer mc.Disconnect(context.WithoutCancel(ctx))
	return NewStore(nil, mc.Database(database), Options{}).EnsureSchema(ctx)
}

// pv5mKey is the hash of one customer's page views in one 5-minute bucket.
func (s *Store) pv5mKey(customer string, bucket time.Time) string {
	return s.opts.KeyPrefix + "pv5m:" + customer + ":" + strconv.FormatInt(bucket.Unix(), 10)
}

// hllKey is the visitor HyperLogLog of one post on one UTC day.
func (s *Store) hllKey(customer, day, post string) string {
	return s.opts.KeyPrefix + "hll:" + customer + ":" + day + ":" + post
}

// siteHLLKey is the visitor HyperLogLog of a customer's whole site (every
// post) on one UTC day.
func (s *Store) siteHLLKey(customer, day string) string {
	return s.opts.KeyPrefix + "hllsite:" + customer + ":" + day
}

// dayDocID is the _id of the daily document of a post.
func dayDocID(customer, day, post string) string {
	return customer + "|" + day + "|" + post
}

// pvField is the 5-minute hash field of a post and referrer category.
func pvField(post, ref string) string { return post + fieldSep + ref }

// splitPVField reverses pvField.
func splitPVField(f string) (post, ref string, ok bool) {
	i := strings.LastIndex(f, fieldSep)
	if i < 0 {
		return "", "", false
	}
	return f[:i], f[i+len(fieldSep):], true
}

// dayOf is the UTC day of t, formatted.
func dayOf(t time.Time) string { return t.UTC().Format(DayLayout) }
