package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/shadow/tee"
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
			ctx := cmd.Context()
			store, err := connect(ctx)
			if err != nil {
				return err
			}
			defer store.Close(context.Background())
			reg := obs.NewRegistry()
			o.Brokers, o.Topic, o.Customers = a.cfg.KafkaBrokers, a.cfg.Topic, customers
			o.ShutdownTimeout, o.Registerer, o.Logger = a.cfg.ShutdownTimeout, reg, a.log
			var rec *ledger.Recorder
			if withLedger {
				session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
				if err != nil {
					return fmt.Errorf("ledger: %w (run `brooks migrate`, or --ledger=false)", err)
				}
				defer session.Close()
				o.Ledger = ledger.NewAccumulator()
				rec = &ledger.Recorder{Acc: o.Ledger, Store: ledger.NewStore(session, a.cfg.Keyspace), Stage: ledger.StageLegacy,
					Writer: ledger.WriterID("legacy"), Interval: ledgerEvery, Logger: a.log}
			}
			in, err := legacy.NewIngester(store, o)
			if err != nil {
				return usageError{err}
			}
			mux := obs.NewMux(reg)
			mux.AddReadyCheck("stores", store.Ping)
			mux.AddReadyCheck("kafka", func(ctx context.Context) error { return tee.Ping(ctx, a.cfg.KafkaBrokers) })
			g, gctx := errgroup.WithContext(ctx)
			ingestDone, stopOthers := context.WithCancel(context.WithoutCancel(gctx))
			defer stopOthers()
			g.Go(func() error {
				defer stopOthers() // the ledger's last flush comes after the ingester's
				return in.Run(gctx)
			})
			g.Go(func() error { return obs.Serve(ingestDone, a.log, addr, mux, 5*time.Second) })
			if rec != nil {
				g.Go(func() error { return rec.Run(ingestDone) })
			}
			return g.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", "127.0.0.1:9181", "listen address for /metrics, /healthz and /readyz")
	f.StringVar(&o.Group, "group", o.Group, "Kafka consumer group")
	f.DurationVar(&o.FlushInterval, "flush-interval", o.FlushInterval, "how often the in-memory counters are flushed to Redis and MongoDB")
	f.IntVar(&o.MaxBatch, "max-batch", o.MaxBatch, "flush early once this many page views are in memory")
	f.BoolVar(&withLedger, "ledger", true, "record per customer/hour counts and hashes of ingested records in the Cassandra ledger")
	f.DurationVar(&ledgerEvery, "ledger-interval", 5*time.Second, "how often the ledger is flushed")
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
			srv, err := legacy.NewServer(store, legacy.ServerOptions{Customers: customers, Timeout: timeout, Log: a.log})
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context(), addr, a.cfg.ShutdownTimeout)
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:8081", "listen address for POST /v1/query, /metrics, /healthz and /readyz")
	cmd.Flags().DurationVar(&timeout, "query-timeout", 30*time.Second, "longest a query may take")
	return cmd
}
