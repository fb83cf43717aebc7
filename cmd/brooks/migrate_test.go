package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestMigrateSaysUpToDate: a first migrate of fresh names changes every
// step; a second one changes nothing and says "up to date".
func TestMigrateSaysUpToDate(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka, testenv.Cassandra, testenv.Elasticsearch, testenv.FerretDB)
	name := strings.ReplaceAll(testenv.Name("mig"), "-", "_")
	t.Setenv("BROOKS_TOPIC", name)
	t.Setenv("BROOKS_KEYSPACE", name)
	t.Setenv("BROOKS_INDEX_PREFIX", strings.ToLower(name))
	t.Setenv("BROOKS_MONGO_DATABASE", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
		_, _ = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + name).Exec()
			s.Close()
		}
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, cfg.ElasticURL+"/_index_template/"+strings.ToLower(name)+"-*", nil); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		if mc, err := mongo.Connect(ctx, options.Client().ApplyURI(cfg.MongoURI)); err == nil {
			_ = mc.Database(name).Drop(ctx)
			mc.Disconnect(ctx)
		}
	})
	code, out, errs := runCapture(t, "migrate")
	if code != 0 || !strings.HasPrefix(out, "migrate: changed ") {
		t.Fatalf("first migrate: exit %d\n%s\n%s", code, out, errs)
	}
	for _, m := range migrations() {
		if !strings.Contains(out, m.name) {
			t.Errorf("first migrate of fresh names did not change %q:\n%s", m.name, out)
		}
	}
	code, out, errs = runCapture(t, "migrate")
	if code != 0 || strings.TrimSpace(out) != "migrate: up to date (nothing changed)" {
		t.Errorf("second migrate: exit %d\n%s\n%s", code, out, errs)
	}
}
