package tee

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// lagLoop refreshes the partition lag gauge of every owned partition
// every LagInterval, from the partitions' ends read from the broker and
// the offsets this consumer committed, whether records flow or not: once
// traffic stops and everything is committed, the gauge reads 0.
func (c *Consumer) lagLoop(ctx context.Context) {
	client := &kafka.Client{Addr: kafka.TCP(c.o.Brokers...), Timeout: 10 * time.Second}
	t := time.NewTicker(c.o.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.refreshLag(ctx, client); err != nil && ctx.Err() == nil {
			c.m.retries.WithLabelValues(OpLag).Inc()
			c.log.Debug("reading partition ends for the lag gauge failed; retrying at the next tick", "err", err)
		}
	}
}

// refreshLag sets the lag of each owned partition.
func (c *Consumer) refreshLag(ctx context.Context, client *kafka.Client) error {
	claims := c.Claims()
	if len(claims) == 0 {
		return nil
	}
	reqs := make([]kafka.OffsetRequest, 0, 2*len(claims))
	for _, cl := range claims {
		reqs = append(reqs, kafka.FirstOffsetOf(cl.Partition), kafka.LastOffsetOf(cl.Partition))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{c.o.Topic: reqs}})
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	ends := map[int]kafka.PartitionOffsets{}
	for _, po := range res.Topics[c.o.Topic] {
		if po.Error != nil {
			return fmt.Errorf("list offsets of partition %d: %w", po.Partition, po.Error)
		}
		ends[po.Partition] = po
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range claims {
		po, ok := ends[cl.Partition]
		if !ok || c.claims[cl.Partition] != cl {
			continue // released meanwhile
		}
		l := lag(po.LastOffset, po.FirstOffset, cl.Committed())
		cl.lastLag.Store(l)
		c.m.lag.WithLabelValues(cl.label).Set(float64(l))
	}
	return nil
}

// Lag returns the lag gauge's current value per owned partition.
func (c *Consumer) Lag() map[int]int64 {
	out := map[int]int64{}
	for _, cl := range c.Claims() {
		out[cl.Partition] = cl.lastLag.Load()
	}
	return out
}
