// Package tee is the Kafka raw-pixel topic both systems consume: its
// creation, the producer settings the collector writes through (acks from
// all in-sync replicas) and the one consumer every reader of the topic
// uses. The topic is keyed by customer, so one customer's pixels stay in
// order on one partition.
//
// # The consumer
//
// Consumer is Brooks' only consumer-group member; the archive, legacy
// ingest and the nextgen engine each run one. It joins the group
// (kafka-go ConsumerGroup) and, for each partition of a generation, runs
// one goroutine fed by a bounded channel (a fetcher reads ahead
// Options.QueueSize records). The component supplies a Handler:
//
//	Assigned(ctx, claim)         partition taken: per-partition state starts
//	Handle(ctx, claim, batch)    consecutive records, up to MaxBatch
//	Tick(ctx, claim)             every TickInterval, idle or not
//	Revoked(ctx, claim)          rebalance, broker lost or shutdown: final flush
//
// all on the partition's goroutine. Offsets are committed only after the
// component calls claim.Durable(next) — synchronously in Handle, or later
// from any goroutine (after a flush that ran in the background, or after a
// store write that covers several partitions). A rebalance waits for the
// batch in flight and for Revoked. A handler error releases the partition
// (it is taken again from its last commit); only a Fatal error stops Run.
//
// Fetch, join and commit failures (a broker restarting, a fenced
// coordinator) are retried with capped exponential backoff and jitter,
// logged and counted in brooks_consumer_retries_total{group,op}; Run never
// returns because of them and never loses its place: consumption resumes
// from the last commit. brooks_consumer_partition_lag{group,partition} is
// the high-water mark minus the committed offset, refreshed every
// LagInterval even when idle, so it reads 0 once everything is committed.
//
// Usage:
//
//	o := tee.DefaultOptions()
//	o.Brokers, o.Topic, o.Group, o.Handler = brokers, topic, "brooks-archive", h
//	c, err := tee.NewConsumer(o)
//	err = c.Run(ctx) // until ctx ends: revokes every partition, commits, leaves
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
