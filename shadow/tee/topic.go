// Package tee is the Kafka raw-pixel topic both systems consume: its
// creation, the producer the collector writes through (acks from all
// in-sync replicas) and the readers each consumer group uses. The topic is
// keyed by customer, so one customer's pixels stay in order on one
// partition.
package tee

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topic describes the raw-pixel topic.
type Topic struct {
	Brokers    []string
	Name       string
	Partitions int
	// Retention of the log in Kafka; the archive keeps it for good.
	Retention time.Duration
}

// Ensure creates the topic if it does not exist; an existing topic is left
// as it is (a partition count that differs is reported, not changed).
func (t Topic) Ensure(ctx context.Context) error {
	if len(t.Brokers) == 0 {
		return errors.New("ensure topic: no Kafka brokers configured")
	}
	if t.Partitions <= 0 {
		t.Partitions = 6
	}
	if t.Retention == 0 {
		t.Retention = 8 * 24 * time.Hour
	}
	client := &kafka.Client{Addr: kafka.TCP(t.Brokers...), Timeout: 30 * time.Second}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic:             t.Name,
		NumPartitions:     t.Partitions,
		ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{
			{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(t.Retention.Milliseconds(), 10)},
			{ConfigName: "min.insync.replicas", ConfigValue: "1"},
		},
	}}})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", t.Name, err)
	}
	if err := resp.Errors[t.Name]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", t.Name, err)
	}
	return t.waitReady(ctx, client)
}

// waitReady polls metadata until every partition has a leader.
func (t Topic) waitReady(ctx context.Context, client *kafka.Client) error {
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t.Name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) > 0 {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				if p.Leader.ID < 0 || p.Error != nil {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s not ready: %w", t.Name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Ping checks that a broker answers.
func Ping(ctx context.Context, brokers []string) error {
	if len(brokers) == 0 {
		return errors.New("no Kafka brokers configured")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("kafka %s: %w", brokers[0], err)
	}
	return conn.Close()
}
