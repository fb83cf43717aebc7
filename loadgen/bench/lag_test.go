package bench

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/tee"
)

// TestGroupLagRealKafka checks groupLag against the real Kafka: a group
// with nothing committed lags by every record, a commit moves it, an empty
// partition never lags.
func TestGroupLagRealKafka(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka)
	ctx := testenv.Context(t, time.Minute)
	topic, group := testenv.Name("bench_lag"), testenv.Name("bench_lag_group")
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: topic, Partitions: 3, Retention: time.Hour}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...), Timeout: 10 * time.Second}
	t.Cleanup(func() {
		_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	})
	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Topic: topic, Balancer: kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition }), RequiredAcks: kafka.RequireAll}
	defer w.Close()
	var msgs []kafka.Message
	for i := 0; i < 7; i++ {
		msgs = append(msgs, kafka.Message{Partition: i % 2, Value: []byte("x")}) // partitions 0 and 1; 2 stays empty
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	lag, per, err := groupLag(ctx, c, topic, group, 3)
	if err != nil {
		t.Fatal(err)
	}
	if lag != 7 || per[0] != 4 || per[1] != 3 || per[2] != 0 {
		t.Fatalf("before any commit: lag %d %v, want 7 {0:4 1:3}", lag, per)
	}
	resp, err := c.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: 4}, {Partition: 1, Offset: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				t.Fatal(p.Error)
			}
		}
	}
	lag, per, err = groupLag(ctx, c, topic, group, 3)
	if err != nil {
		t.Fatal(err)
	}
	if lag != 2 || per[0] != 0 || per[1] != 2 {
		t.Fatalf("after commits: lag %d %v, want 2 {1:2}", lag, per)
	}
}
