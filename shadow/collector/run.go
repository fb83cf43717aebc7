package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/brooksdata/brooks/internal/obs"
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

// Server runs a collector on a listener with /metrics, /healthz and
// /readyz beside the tracker endpoints.
type Server struct {
	Listener  net.Listener
	Collector Options
	Brokers   []string
	Writer    *kafka.Writer
	Registry  *prometheus.Registry
	// Background runs beside the server and ends with it (the ledger
	// recorder); it must flush when its context ends.
	Background []func(context.Context) error
	Grace      time.Duration
	Log        *slog.Logger
}

// Run serves until ctx ends, then stops taking requests, waits for the
// in-flight ones (each waits for its Kafka acknowledgement), closes the
// producer and lets the background tasks flush.
func (s *Server) Run(ctx context.Context) error {
	log := obs.OrDiscard(s.Log)
	reg := s.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	opts := s.Collector
	opts.Producer = s.Writer
	opts.Registry = reg
	opts.Log = log
	c, err := New(opts)
	if err != nil {
		return err
	}
	mux := obs.NewMux(reg)
	mux.Handle(PathPixel, c)
	mux.Handle(PathPost, c)
	mux.AddReadyCheck("kafka", func(ctx context.Context) error { return tee.Ping(ctx, s.Brokers) })
	grace := s.Grace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	bgCtx, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	var bg errgroup.Group
	for _, f := range s.Background {
		bg.Go(func() error { return f(bgCtx) })
	}
	serveErr := obs.ServeListener(ctx, log, s.Listener, mux, grace)
	if err := s.Writer.Close(); err != nil {
		log.Warn("close kafka writer", "err", err)
	}
	stopBG()
	if err := bg.Wait(); err != nil {
		return fmt.Errorf("collector background: %w", err)
	}
	return serveErr
}
