package legacy

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Chunk sizes of a flush: each Redis chunk is one MULTI/EXEC transaction,
// each Mongo chunk one unordered bulk write (one `update` command).
//
// FerretDB v1 (SQLite) holds one SQLite connection per update of an
// existing document until the whole `update` command ends, and has 100
// connections per database: a command with more than ~100 updates of
// existing documents waits forever. 50 keeps well clear of that.
const (
	redisChunkOps  = 4096
	mongoChunkDocs = 50
)

// WriteError is a failed flush attempt, naming the store.
type WriteError struct {
	Store string // "redis" or "mongo"
	Err   error
}

func (e *WriteError) Error() string { return "write " + e.Store + ": " + e.Err.Error() }

func (e *WriteError) Unwrap() error { return e.Err }

// redisOp is one command of a flush.
type redisOp struct {
	key      string
	field    string // HINCRBY field; "" with members for PFADD, "" alone for EXPIREAT
	n        int64
	members  []any
	expireAt time.Time
}

// realtimeState is a batch's Redis part turned into transactions, with how
// many were applied.
type realtimeState struct {
	chunks [][]redisOp
	done   int
}

// Write flushes b to Redis (WriteRealtime) and then MongoDB (WriteDaily).
func (s *Store) Write(ctx context.Context, b *Batch) error {
	if err := s.WriteRealtime(ctx, b); err != nil {
		return err
	}
	return s.WriteDaily(ctx, b.Daily())
}

// WriteRealtime writes the batch's 5-minute counters and visitor
// HyperLogLogs to Redis. On error the batch remembers which transactions
// (MULTI/EXEC chunks) were applied, and calling it again applies only the
// rest, so a retry never counts twice.
func (s *Store) WriteRealtime(ctx context.Context, b *Batch) error {
	if b.realtime == nil {
		b.realtime = s.prepareRealtime(b)
	}
	f := b.realtime
	for f.done < len(f.chunks) {
		if err := s.writeRedis(ctx, f.chunks[f.done]); err != nil {
			return &WriteError{Store: "redis", Err: err}
		}
		f.done++
	}
	return nil
}

// WriteDaily upserts the daily documents of d, the posts' and the site's
// ($inc in unordered bulk writes). On error d remembers which chunks were applied, and calling it
// again applies only the rest; a chunk whose outcome is unknown (a network
// error) is applied again, which may count its page views twice
// (at-least-once). Once written (or being written) d cannot be merged into.
func (s *Store) WriteDaily(ctx context.Context, d *Daily) error {
	if d.chunks == nil {
		d.chunks = s.prepareDaily(d)
	}
	for d.done < len(d.chunks) {
		ch := &d.chunks[d.done]
		c := s.db.Collection(ch.coll)
		if err := s.ensureIndexes(ctx, c, ch.indexes); err != nil {
			return &WriteError{Store: "mongo", Err: err}
		}
		failed, err := s.writeMongo(ctx, c, ch.models)
		if err != nil {
			if failed != nil {
				ch.models = failed
			}
			return &WriteError{Store: "mongo", Err: err}
		}
		d.done++
	}
	return nil
}

// prepareRealtime turns the batch's Redis part into chunks, in a stable
// order, each key's commands followed by its EXPIREAT.
func (s *Store) prepareRealtime(b *Batch) *realtimeState {
	f := &realtimeState{}
	byKey := map[string][]redisOp{}
	expire := map[string]time.Time{}
	for c, n := range b.pv5m {
		k := s.pv5mKey(c.customer, time.Unix(c.bucket, 0))
		byKey[k] = append(byKey[k], redisOp{key: k, field: pvField(c.post, c.ref), n: n})
		expire[k] = time.Unix(c.bucket, 0).Add(Step5m + s.opts.Retention5m)
	}
	for c, set := range b.visitors {
		day, _ := time.Parse(DayLayout, c.day)
		k := s.siteHLLKey(c.customer, c.day)
		if c.post != "" {
			k = s.hllKey(c.customer, c.day, c.post)
		}
		members := make([]any, 0, len(set))
		for v := range set {
			members = append(members, v)
		}
		byKey[k] = append(byKey[k], redisOp{key: k, members: members})
		expire[k] = day.Add(Day + s.opts.RetentionVisitors)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var chunk []redisOp
	for _, k := range keys {
		ops := byKey[k]
		sort.Slice(ops, func(i, j int) bool { return ops[i].field < ops[j].field })
		chunk = append(chunk, ops...)
		chunk = append(chunk, redisOp{key: k, expireAt: expire[k]})
		if len(chunk) >= redisChunkOps {
			f.chunks = append(f.chunks, chunk)
			chunk = nil
		}
	}
	if len(chunk) > 0 {
		f.chunks = append(f.chunks, chunk)
	}
	return f
}

// mongoChunk is one bulk write to one collection.
type mongoChunk struct {
	coll    string
	indexes []mongo.IndexModel
	models  []mongo.WriteModel
}

// prepareDaily turns the daily totals into upserts: the posts' documents in
// their day collections, and the site's totals per customer and day, in a
// stable order.
func (s *Store) prepareDaily(d *Daily) []mongoChunk {
	cells := make([]dayCell, 0, len(d.days))
	sites := map[dayCell]*dayTotals{}
	for c, t := range d.days {
		cells = append(cells, c)
		sc := dayCell{customer: c.customer, day: c.day}
		st := sites[sc]
		if st == nil {
			st = &dayTotals{referrers: map[string]int64{}}
			sites[sc] = st
		}
		st.pageviews += t.pageviews
		for r, n := range t.referrers {
			st.referrers[r] += n
		}
	}
	for c := range sites {
		cells = append(cells, c)
	}
	// Post documents collection by collection, then the site documents.
	collOf := func(c dayCell) string {
		if c.post == "" {
			return "\xff" // last
		}
		return s.dayCollection(c.day, c.customer, c.post).Name()
	}
	sort.Slice(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if ca, cb := collOf(a), collOf(b); ca != cb {
			return ca < cb
		}
		return dayDocID(a.customer, a.day, a.post) < dayDocID(b.customer, b.day, b.post)
	})
	var chunks []mongoChunk
	now := s.opts.Now().UTC()
	for _, c := range cells {
		t, id := d.days[c], dayDocID(c.customer, c.day, c.post)
		coll, indexes := "", postDayIndexes
		if c.post != "" {
			coll = s.dayCollection(c.day, c.customer, c.post).Name()
		}
		setOnInsert := bson.D{{Key: "customer", Value: c.customer}, {Key: "post", Value: c.post}, {Key: "day", Value: c.day}}
		if c.post == "" {
			t, id = sites[c], c.customer+"|"+c.day
			coll, indexes = s.siteCollection().Name(), siteDayIndexes
			setOnInsert = bson.D{{Key: "customer", Value: c.customer}, {Key: "day", Value: c.day}}
		}
		inc := bson.D{{Key: "pageviews", Value: t.pageviews}}
		for _, r := range sortedKeys(t.referrers) {
			inc = append(inc, bson.E{Key: "referrers." + r, Value: t.referrers[r]})
		}
		m := mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: id}}).
			SetUpdate(bson.D{
				{Key: "$setOnInsert", Value: setOnInsert},
				{Key: "$inc", Value: inc},
				{Key: "$set", Value: bson.D{{Key: "updated_at", Value: now}}},
			}).
			SetUpsert(true)
		if n := len(chunks); n == 0 || chunks[n-1].coll != coll || len(chunks[n-1].models) >= mongoChunkDocs {
			chunks = append(chunks, mongoChunk{coll: coll, indexes: indexes})
		}
		chunks[len(chunks)-1].models = append(chunks[len(chunks)-1].models, m)
	}
	if chunks == nil {
		chunks = []mongoChunk{}
	}
	return chunks
}

func (s *Store) writeRedis(ctx context.Context, ops []redisOp) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, op := range ops {
			switch {
			case op.field != "":
				p.HIncrBy(ctx, op.key, op.field, op.n)
			case op.members != nil:
				p.PFAdd(ctx, op.key, op.members...)
			default:
				p.ExpireAt(ctx, op.key, op.expireAt)
			}
		}
		return nil
	})
	return err
}

// writeMongo applies one chunk; after a bulk write error it returns the
// models that failed, for the retry.
func (s *Store) writeMongo(ctx context.Context, c *mongo.Collection, models []mongo.WriteModel) ([]mongo.WriteModel, error) {
	_, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
		failed := make([]mongo.WriteModel, 0, len(bwe.WriteErrors))
		for _, we := range bwe.WriteErrors {
			if we.Index >= 0 && we.Index < len(models) {
				failed = append(failed, models[we.Index])
			}
		}
		return failed, errors.New(strconv.Itoa(len(failed)) + " of " + strconv.Itoa(len(models)) + " upserts failed: " + err.Error())
	}
	return nil, err
}

// String describes the batch for logs.
func (b *Batch) String() string {
	return strconv.Itoa(b.n) + " page views, " + strconv.Itoa(len(b.pv5m)) + " 5m cells, " + strconv.Itoa(len(b.days)) + " daily documents"
}
