// Package smoke holds one real round trip through each client library
// against each server of the local stack, so a broken server or client is
// named plainly before any component test fails for a murkier reason.
package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/tee"
)

func TestKafkaProduceConsumeWithGroup(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka)
	ctx := testenv.Context(t, time.Minute)
	topic := testenv.Name("smoke")
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: topic, Partitions: 2}).Ensure(ctx); err != nil {
		t.Fatalf("kafka: %v", err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Murmur2Balancer{}}
	defer w.Close()
	var msgs []kafka.Message
	for i := range 10 {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("k%d", i%3)), Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("kafka produce: %v", err)
	}
	// Consume through the project's one consumer (tee.Consumer): a group
	// member that commits what its handler marks durable.
	h := &smokeHandler{seen: map[string]bool{}, all: make(chan struct{})}
	o := tee.DefaultOptions()
	o.Brokers, o.Topic, o.Group, o.Handler = cfg.KafkaBrokers, topic, testenv.Name("smoke"), h
	c, err := tee.NewConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	select {
	case <-h.all:
	case <-ctx.Done():
		t.Errorf("kafka consume with a group: got %d of 10", h.count())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
}

// smokeHandler keeps the values it is handed until it saw ten.
type smokeHandler struct {
	mu   sync.Mutex
	seen map[string]bool
	all  chan struct{}
}

func (h *smokeHandler) Assigned(context.Context, *tee.Claim) error { return nil }
func (h *smokeHandler) Tick(context.Context, *tee.Claim) error     { return nil }
func (h *smokeHandler) Revoked(context.Context, *tee.Claim) error  { return nil }

func (h *smokeHandler) Handle(_ context.Context, c *tee.Claim, batch []kafka.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range batch {
		h.seen[string(m.Value)] = true
	}
	if len(h.seen) == 10 {
		select {
		case <-h.all:
		default:
			close(h.all)
		}
	}
	c.Durable(batch[len(batch)-1].Offset + 1)
	return nil
}

func (h *smokeHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

func TestRedisIncrAndPFAdd(t *testing.T) {
	cfg := testenv.Require(t, testenv.Redis)
	ctx := testenv.Context(t, 30*time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()
	key := testenv.Name("smoke")
	defer rdb.Del(context.Background(), key, key+":hll")
	for range 3 {
		if err := rdb.Incr(ctx, key).Err(); err != nil {
			t.Fatalf("redis INCR: %v", err)
		}
	}
	if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 3 {
		t.Fatalf("redis GET = %d, %v; want 3", n, err)
	}
	if err := rdb.PFAdd(ctx, key+":hll", "a", "b", "c", "a").Err(); err != nil {
		t.Fatalf("redis PFADD: %v", err)
	}
	if n, err := rdb.PFCount(ctx, key+":hll").Result(); err != nil || n != 3 {
		t.Fatalf("redis PFCOUNT = %d, %v; want 3", n, err)
	}
}

func TestMongoUpsertInc(t *testing.T) {
	cfg := testenv.Require(t, testenv.FerretDB)
	ctx := testenv.Context(t, 30*time.Second)
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(cfg.MongoURI))
	if err != nil {
		t.Fatalf("mongo (ferretdb): %v", err)
	}
	defer client.Disconnect(context.Background())
	db := client.Database(testenv.Name("smoke"))
	defer db.Drop(context.Background())
	coll := db.Collection("counters")
	for range 3 {
		_, err := coll.UpdateOne(ctx, bson.M{"_id": "post-1"}, bson.M{"$inc": bson.M{"pageviews": 2}}, options.Update().SetUpsert(true))
		if err != nil {
			t.Fatalf("mongo upsert $inc: %v", err)
		}
	}
	var doc struct {
		Pageviews int `bson:"pageviews"`
	}
	if err := coll.FindOne(ctx, bson.M{"_id": "post-1"}).Decode(&doc); err != nil || doc.Pageviews != 6 {
		t.Fatalf("mongo find = %+v, %v; want pageviews 6", doc, err)
	}
}

func TestCassandraInsertSelect(t *testing.T) {
	cfg := testenv.Require(t, testenv.Cassandra)
	ctx := testenv.Context(t, time.Minute)
	ks := testenv.Name("smoke")
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatalf("cassandra: %v", err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatalf("cassandra: %v", err)
	}
	defer s.Close()
	defer s.Query("DROP KEYSPACE " + ks).Exec()
	if err := s.Query(`CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v bigint)`).WithContext(ctx).Exec(); err != nil {
		t.Fatalf("cassandra create table: %v", err)
	}
	if err := s.Query(`INSERT INTO kv (k, v) VALUES (?, ?)`, "answer", int64(42)).WithContext(ctx).Exec(); err != nil {
		t.Fatalf("cassandra insert: %v", err)
	}
	var v int64
	if err := s.Query(`SELECT v FROM kv WHERE k = ?`, "answer").WithContext(ctx).Scan(&v); err != nil || v != 42 {
		t.Fatalf("cassandra select = %d, %v; want 42", v, err)
	}
}

func TestElasticsearchBulkAndAggregation(t *testing.T) {
	cfg := testenv.Require(t, testenv.Elasticsearch)
	ctx := testenv.Context(t, time.Minute)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticURL}})
	if err != nil {
		t.Fatal(err)
	}
	index := testenv.Name("smoke")
	defer es.Indices.Delete([]string{index})
	var body bytes.Buffer
	for i := range 6 {
		fmt.Fprintf(&body, `{"index":{"_index":%q}}`+"\n"+`{"url":"u%d","views":%d}`+"\n", index, i%2, i)
	}
	res, err := es.Bulk(&body, es.Bulk.WithContext(ctx), es.Bulk.WithRefresh("true"))
	if err != nil {
		t.Fatalf("elasticsearch bulk: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.IsError() || strings.Contains(string(b), `"errors":true`) {
		t.Fatalf("elasticsearch bulk: %s %s", res.Status(), b)
	}
	q := `{"size":0,"aggs":{"by_url":{"terms":{"field":"url.keyword"},"aggs":{"views":{"sum":{"field":"views"}}}}}}`
	res, err = es.Search(es.Search.WithContext(ctx), es.Search.WithIndex(index), es.Search.WithBody(strings.NewReader(q)))
	if err != nil {
		t.Fatalf("elasticsearch search: %v", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("elasticsearch search: %s %s", res.Status(), b)
	}
	var out struct {
		Aggregations struct {
			ByURL struct {
				Buckets []struct {
					Key   string `json:"key"`
					Views struct {
						Value float64 `json:"value"`
					} `json:"views"`
				} `json:"buckets"`
			} `json:"by_url"`
		} `json:"aggregations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, b := range out.Aggregations.ByURL.Buckets {
		got[b.Key] = b.Views.Value
	}
	if got["u0"] != 0+2+4 || got["u1"] != 1+3+5 {
		t.Fatalf("elasticsearch terms+sum = %v; want u0=6, u1=9", got)
	}
}
