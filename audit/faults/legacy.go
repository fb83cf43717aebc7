package faults

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/pixel"
)

// legacyStores is System One's Redis and MongoDB, laid out as
// legacy.Store writes them (see the legacy package doc).
type legacyStores struct {
	rdb       redis.UniversalClient
	db        *mongo.Database
	opts      legacy.Options
	customers *pixel.Customers
}

// legacyCounts is what legacy's ingester would have added for a stream.
type legacyCounts struct {
	pv5m     map[[2]string]int64            // (redis key, field) → page views
	days     map[[3]string]map[string]int64 // (collection, _id, post) → "pageviews" and "referrers.<cat>"
	visitors map[string]map[string]bool     // hll key → members
}

func (l *legacyStores) count(customer, day string, events []Event) *legacyCounts {
	lc := &legacyCounts{pv5m: map[[2]string]int64{}, days: map[[3]string]map[string]int64{}, visitors: map[string]map[string]bool{}}
	for i := range events {
		pv, reason := legacy.ClassifyEvent(l.customers, &events[i].Event)
		if reason != "" || pv.Customer != customer {
			continue
		}
		at := pv.At.UTC()
		d := at.Format(legacy.DayLayout)
		if day != "" && d != day {
			continue
		}
		k := l.pv5mKey(customer, at.Truncate(legacy.Step5m))
		lc.pv5m[[2]string{k, pv.Post + "\x1f" + pv.Referrer}]++
		lc.pv5m[[2]string{k, "\x1f" + pv.Referrer}]++
		for _, doc := range [][3]string{{l.dayColl(d, customer, pv.Post), customer + "|" + d + "|" + pv.Post, pv.Post}, {l.opts.SiteCollection, customer + "|" + d, ""}} {
			m := lc.days[doc]
			if m == nil {
				m = map[string]int64{}
				lc.days[doc] = m
			}
			m["pageviews"]++
			m["referrers."+pv.Referrer]++
		}
		if pv.Visitor != "" {
			for _, hk := range []string{l.opts.KeyPrefix + "hll:" + customer + ":" + d + ":" + pv.Post, l.opts.KeyPrefix + "hllsite:" + customer + ":" + d} {
				if lc.visitors[hk] == nil {
					lc.visitors[hk] = map[string]bool{}
				}
				lc.visitors[hk][pv.Visitor] = true
			}
		}
	}
	return lc
}

func (l *legacyStores) pv5mKey(customer string, bucket time.Time) string {
	return l.opts.KeyPrefix + "pv5m:" + customer + ":" + strconv.FormatInt(bucket.Unix(), 10)
}

// dayColl is legacy.Store's collection of a post's day document.
func (l *legacyStores) dayColl(day, customer, post string) string {
	h := fnv.New32a()
	h.Write([]byte(customer))
	h.Write([]byte{0})
	h.Write([]byte(post))
	return l.opts.Collection + "_" + strings.ReplaceAll(day, "-", "") + "_" + strconv.Itoa(int(h.Sum32()%uint32(l.opts.DayShards)))
}

// snapshot keeps Redis keys and Mongo documents as they were before a
// plant, to put them back.
type snapshot struct {
	keys map[string]*savedKey
	docs map[[2]string]bson.M // (collection, _id) → document (nil: absent)
}

type savedKey struct {
	dump string // "" when the key did not exist
	ttl  time.Duration
}

func (l *legacyStores) saveKey(ctx context.Context, s *snapshot, key string) error {
	if _, ok := s.keys[key]; ok {
		return nil
	}
	d, err := l.rdb.Dump(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		s.keys[key] = &savedKey{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("dump %s: %w", key, err)
	}
	ttl, err := l.rdb.PTTL(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("pttl %s: %w", key, err)
	}
	if ttl < 0 {
		ttl = 0
	}
	s.keys[key] = &savedKey{dump: d, ttl: ttl}
	return nil
}

func (l *legacyStores) saveDoc(ctx context.Context, s *snapshot, coll, id string) (bson.M, error) {
	k := [2]string{coll, id}
	if d, ok := s.docs[k]; ok {
		return d, nil
	}
	var doc bson.M
	err := l.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		doc = nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", coll, id, err)
	}
	s.docs[k] = doc
	return doc, nil
}

// restore puts every saved key and document back.
func (l *legacyStores) restore(ctx context.Context, s *snapshot) error {
	for k, v := range s.keys {
		var err error
		if v.dump == "" {
			err = l.rdb.Del(ctx, k).Err()
		} else {
			err = l.rdb.RestoreReplace(ctx, k, v.ttl, v.dump).Err()
		}
		if err != nil {
			return fmt.Errorf("restore %s: %w", k, err)
		}
	}
	for k, doc := range s.docs {
		c := l.db.Collection(k[0])
		var err error
		if doc == nil {
			_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: k[1]}})
		} else {
			_, err = c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: k[1]}}, doc, options.Replace().SetUpsert(true))
		}
		if err != nil {
			return fmt.Errorf("restore %s/%s: %w", k[0], k[1], err)
		}
	}
	return nil
}

// plant applies to legacy's stores the difference between what it would
// have counted for the faulted stream and for the true one (DayMissing:
// deletes the day's documents and HyperLogLogs). It returns the undo and
// the Redis keys and Mongo documents it changed; on an error the undo
// puts back what was changed before it.
func (l *legacyStores) plant(ctx context.Context, f Fault, events []Event) (Undo, []string, error) {
	s := &snapshot{keys: map[string]*savedKey{}, docs: map[[2]string]bson.M{}}
	undo := func(ctx context.Context) error { return l.restore(ctx, s) }
	var changed []string
	if f.Kind == DayMissing {
		day := f.Day().Format(legacy.DayLayout)
		lc := l.count(f.Customer, day, events)
		for hk := range lc.visitors {
			if err := l.saveKey(ctx, s, hk); err != nil {
				return undo, nil, err
			}
			if err := l.rdb.Del(ctx, hk).Err(); err != nil {
				return undo, nil, fmt.Errorf("delete %s: %w", hk, err)
			}
			changed = append(changed, hk)
		}
		for doc := range lc.days {
			if _, err := l.saveDoc(ctx, s, doc[0], doc[1]); err != nil {
				return undo, nil, err
			}
			if _, err := l.db.Collection(doc[0]).DeleteOne(ctx, bson.D{{Key: "_id", Value: doc[1]}}); err != nil {
				return undo, nil, fmt.Errorf("delete %s/%s: %w", doc[0], doc[1], err)
			}
			changed = append(changed, doc[0]+"/"+doc[1])
		}
		return undo, changed, nil
	}
	truth, faulted := l.count(f.Customer, "", events), l.count(f.Customer, "", Transform(f, events))
	delta := map[[2]string]int64{}
	for k, n := range faulted.pv5m {
		delta[k] += n
	}
	for k, n := range truth.pv5m {
		delta[k] -= n
	}
	for k, n := range delta {
		if n == 0 {
			continue
		}
		if err := l.saveKey(ctx, s, k[0]); err != nil {
			return undo, nil, err
		}
		v, err := l.rdb.HIncrBy(ctx, k[0], k[1], n).Result()
		if err != nil {
			return undo, nil, fmt.Errorf("hincrby %s: %w", k[0], err)
		}
		if v <= 0 { // what legacy holds for a cell it never saw: no field
			if err := l.rdb.HDel(ctx, k[0], k[1]).Err(); err != nil {
				return undo, nil, fmt.Errorf("hdel %s: %w", k[0], err)
			}
		}
		if s.keys[k[0]].dump == "" {
			b, _ := strconv.ParseInt(k[0][strings.LastIndexByte(k[0], ':')+1:], 10, 64)
			l.rdb.ExpireAt(ctx, k[0], time.Unix(b, 0).Add(legacy.Step5m+l.opts.Retention5m))
		}
		changed = append(changed, k[0]+" "+strings.ReplaceAll(k[1], "\x1f", " "))
	}
	docs := map[[3]string]bool{}
	for k := range faulted.days {
		docs[k] = true
	}
	for k := range truth.days {
		docs[k] = true
	}
	for k := range docs {
		d := map[string]int64{}
		for f, n := range faulted.days[k] {
			d[f] += n
		}
		for f, n := range truth.days[k] {
			d[f] -= n
		}
		if err := l.applyDay(ctx, s, k, d); err != nil {
			return undo, nil, err
		}
		if len(d) > 0 {
			changed = append(changed, k[0]+"/"+k[1])
		}
	}
	for hk, members := range faulted.visitors {
		var add []any
		for m := range members {
			if !truth.visitors[hk][m] {
				add = append(add, m)
			}
		}
		if len(add) == 0 {
			continue
		}
		if err := l.saveKey(ctx, s, hk); err != nil {
			return undo, nil, err
		}
		if err := l.rdb.PFAdd(ctx, hk, add...).Err(); err != nil {
			return undo, nil, fmt.Errorf("pfadd %s: %w", hk, err)
		}
		changed = append(changed, hk)
	}
	return undo, changed, nil
}

// applyDay changes one day document by d (field → delta), deleting it
// when no page view is left and dropping referrer fields that reach 0.
func (l *legacyStores) applyDay(ctx context.Context, s *snapshot, k [3]string, d map[string]int64) error {
	for f, n := range d {
		if n == 0 {
			delete(d, f)
		}
	}
	if len(d) == 0 {
		return nil
	}
	orig, err := l.saveDoc(ctx, s, k[0], k[1])
	if err != nil {
		return err
	}
	doc := bson.M{"_id": k[1]}
	for f, v := range orig {
		doc[f] = v
	}
	if orig == nil {
		parts := strings.SplitN(k[1], "|", 3)
		doc["customer"], doc["day"] = parts[0], parts[1]
		if k[2] != "" {
			doc["post"] = k[2]
		}
	}
	refs := bson.M{}
	switch r := doc["referrers"].(type) {
	case bson.M:
		for c, v := range r {
			refs[c] = v
		}
	case bson.D:
		for _, e := range r {
			refs[e.Key] = e.Value
		}
	}
	pv := toInt(doc["pageviews"]) + d["pageviews"]
	for f, n := range d {
		if c, ok := strings.CutPrefix(f, "referrers."); ok {
			if v := toInt(refs[c]) + n; v > 0 {
				refs[c] = v
			} else {
				delete(refs, c)
			}
		}
	}
	coll := l.db.Collection(k[0])
	filter := bson.D{{Key: "_id", Value: k[1]}}
	if pv <= 0 {
		if _, err := coll.DeleteOne(ctx, filter); err != nil {
			return fmt.Errorf("delete %s/%s: %w", k[0], k[1], err)
		}
		return nil
	}
	doc["pageviews"], doc["referrers"] = pv, refs
	if _, err := coll.ReplaceOne(ctx, filter, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("write %s/%s: %w", k[0], k[1], err)
	}
	return nil
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int32:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}
