package rebuild

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

type metrics struct {
	events prometheus.Counter
	raw    prometheus.Counter
	docs   *prometheus.CounterVec
}

// newMetrics makes the rebuild's metrics, registered only when reg is set.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit_rebuild", Name: "events_total",
			Help: "Archive events read by rebuilds."}),
		raw: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit_rebuild", Name: "raw_restored_total",
			Help: "Raw-store rows put back from the archive."}),
		docs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit_rebuild", Name: "docs_total",
			Help: "Rollup documents by result: written, unchanged, ahead (stored watermark above the archive's), behind (engine not committed past it), conflict."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.raw, m.docs)
	}
	return m
}

// KafkaCommitted returns an Options.Committed reading the committed
// offsets of group (the live engine's) on topic.
func KafkaCommitted(brokers []string, group, topic string) func(ctx context.Context, partitions []int) (map[int]int64, error) {
	return func(ctx context.Context, partitions []int) (map[int]int64, error) {
		c := &kafka.Client{Addr: kafka.TCP(brokers...)}
		resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
		if err != nil {
			return nil, fmt.Errorf("offset fetch %s: %w", group, err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("offset fetch %s: %w", group, resp.Error)
		}
		out := map[int]int64{}
		for _, p := range resp.Topics[topic] {
			if p.Error != nil {
				return nil, fmt.Errorf("offset fetch %s partition %d: %w", group, p.Partition, p.Error)
			}
			out[p.Partition] = p.CommittedOffset
		}
		return out, nil
	}
}
