package collector

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/shadow/tee"
)

// NewWriter returns the Kafka producer the collector writes through: acks
// from all in-sync replicas, records keyed by customer and partitioned like
// Kafka's Java clients (murmur2), small batches so a pixel waits
// milliseconds, not seconds.
func NewWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1000,
		// Below the broker's default message.max.bytes (1 MiB): a larger
		// batch would be refused for good, and every retry answered 503.
		BatchBytes:      900 << 10,
		BatchTimeout:    2 * time.Millisecond,
		MaxAttempts:     2,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: 500 * time.Millisecond,
		// A broker that is down is found out fast (connection refused, or a
		// 1 s dial timeout), well before the collector answers 503. Reads
		// and writes keep kafka-go's 10 s: cutting them shorter makes a slow
		// but successful produce look failed and get written twice.
		Transport:              &kafka.Transport{DialTimeout: time.Second, IdleTimeout: time.Minute},
		AllowAutoTopicCreation: false,
		Compression:            kafka.Lz4,
	}
}

// Register wires a collector into a component runner: the tracker
// endpoints as intake (503 with Retry-After once shutdown begins, the
// requests in flight finish, each waiting for its Kafka acknowledgement), a
// Kafka ready check, and the producer closed once the intake drained, before
// the ledger's last flush. o.Producer is w; o.Registerer and a nil
// o.Logger come from r.
func Register(r *component.Runner, o Options, w *kafka.Writer, brokers []string) (*Collector, error) {
	o.Producer = w
	o.Registerer = r.Registry()
	if o.Logger == nil {
		o.Logger = r.Logger()
	}
	c, err := New(o)
	if err != nil {
		return nil, err
	}
	// Trackers run in browsers and hold no secret: the tracker endpoints
	// are public; /metrics is not.
	r.HandleIntake(PathPixel, component.Public(c))
	r.HandleIntake(PathPost, component.Public(c))
	r.AddReadyCheck("kafka", func(ctx context.Context) error { return tee.Ping(ctx, brokers) })
	r.OnStop(component.Work, "kafka writer", w.Close)
	return c, nil
}
