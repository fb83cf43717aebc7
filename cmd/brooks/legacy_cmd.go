package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/legacy"
)

// newLegacyCmd is `brooks legacy ingest|serve`: System One, see
// legacy/README.md.
func newLegacyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "legacy",
		Short: "System One: page-view counters in Redis and MongoDB (ingest) and its query API (serve)",
	}
	var so legacy.Options
	so.KeyPrefix = legacy.DefaultOptions().KeyPrefix
	cmd.PersistentFlags().StringVar(&so.KeyPrefix, "key-prefix", so.KeyPrefix, "prefix of legacy's Redis keys")
	connect := func(ctx context.Context) (*legacy.Store, error) {
		return legacy.Connect(ctx, a.cfg.RedisAddr, a.cfg.MongoURI, a.cfg.MongoDatabase, so)
	}
	cmd.AddCommand(newLegacyIngestCmd(a, connect), newLegacyServeCmd(a, connect))
	return cmd
}

func newLegacyIngestCmd(a *app, connect func(context.Context) (*legacy.Store, error)) *cobra.Command {
	o := legacy.DefaultIngestOptions()
	var addr string
	var withLedger bool
	var ledgerEvery time.Duration
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Consume the raw-pixel topic and keep System One's page-view counters (flush, then commit: at-least-once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			store, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close(context.Background())
			r, err := a.runner("legacy-ingest", "legacy_ingest", addr)
			if err != nil {
				return err
			}
			o.Brokers, o.Topic, o.Customers = a.cfg.KafkaBrokers, a.cfg.Topic, customers
			o.ShutdownTimeout, o.Registerer, o.Logger = a.cfg.ShutdownTimeout, r.Registry(), a.log
			if withLedger {
				o.Ledger = a.ledgerRecorder(r, ledger.StageLegacy, "legacy", ledgerEvery)
			}
			in, err := legacy.NewIngester(store, o)
			if err != nil {
				return usageError{err}
			}
			r.AddReadyCheck("stores", store.Ping)
			a.kafkaReady(r)
			r.Go(component.Work, "ingester", in.Run)
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", "127.0.0.1:9181", "listen address for /metrics, /healthz and /readyz")
	f.StringVar(&o.Group, "group", o.Group, "Kafka consumer group")
	f.DurationVar(&o.FlushInterval, "flush-interval", o.FlushInterval, "how often the in-memory counters are flushed to Redis and MongoDB")
	f.IntVar(&o.MaxBatch, "max-batch", o.MaxBatch, "flush early once this many page views are in memory")
	ledgerFlags(f, &withLedger, &ledgerEvery, "ingested records")
	return cmd
}

func newLegacyServeCmd(a *app, connect func(context.Context) (*legacy.Store, error)) *cobra.Command {
	var addr string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve System One's query API: POST /v1/query (page views and experimental visitors)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			store, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close(context.Background())
			r, err := a.runner("legacy-serve", "legacy_api", addr)
			if err != nil {
				return err
			}
			srv, err := legacy.NewServer(store, legacy.ServerOptions{Customers: customers, Timeout: timeout, Logger: a.log, Registerer: r.Registry()})
			if err != nil {
				return err
			}
			srv.Mount(r)
			r.AddReadyCheck("stores", store.Ping)
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:8081", "listen address for POST /v1/query, /metrics, /healthz and /readyz")
	cmd.Flags().DurationVar(&timeout, "query-timeout", 30*time.Second, "longest a query may take")
	return cmd
}
