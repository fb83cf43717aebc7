package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/shadow/collector"
)

func newCollectorCmd(a *app) *cobra.Command {
	var addr string
	var withLedger bool
	var ledgerEvery, writeTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "collector",
		Short: "Accept Snowplow tracker pixels (GET /i, POST tp2) and write them durably to the Kafka raw-pixel topic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen %s: %w", addr, err)
			}
			srv := &collector.Server{
				Listener:  ln,
				Collector: collector.Options{Customers: customers, WriteTimeout: writeTimeout},
				Brokers:   a.cfg.KafkaBrokers,
				Writer:    collector.NewWriter(a.cfg.KafkaBrokers, a.cfg.Topic),
				Grace:     a.cfg.ShutdownTimeout,
				Log:       a.log,
			}
			if withLedger {
				// The ledger connects on first use and retries, so the
				// collector takes pixels even while Cassandra is down.
				store := ledger.NewLazy(a.cfg.CassandraHosts, a.cfg.Keyspace)
				defer store.Close()
				acc := ledger.NewAccumulator()
				srv.Collector.Ledger = acc
				rec := &ledger.Recorder{Acc: acc, Store: store, Stage: ledger.StageCollector,
					Writer: ledger.WriterID("collector"), Interval: ledgerEvery, Logger: a.log}
				srv.Background = append(srv.Background, func(ctx context.Context) error { return rec.Run(ctx) })
			}
			a.log.Info("collector starting", "addr", ln.Addr().String(), "topic", a.cfg.Topic, "customers", len(customers.IDs()))
			return srv.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:8080", "listen address for trackers, /metrics, /healthz and /readyz")
	cmd.Flags().BoolVar(&withLedger, "ledger", true, "record per customer/hour counts and hashes in the Cassandra ledger")
	cmd.Flags().DurationVar(&ledgerEvery, "ledger-interval", 5*time.Second, "how often the ledger is flushed")
	cmd.Flags().DurationVar(&writeTimeout, "kafka-timeout", 10*time.Second, "how long a request waits for Kafka before answering 503")
	return cmd
}
