package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/gocql/gocql"
	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
)

// nextgenSubcommands are the `brooks nextgen` subcommands defined in other
// files (serve, ...); each file adds its constructor in an init function.
var nextgenSubcommands []func(*app) *cobra.Command

// newNextgenCmd is `brooks nextgen`: System Two, see nextgen/README.md.
func newNextgenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nextgen",
		Short: "System Two: raw events in Cassandra, rollups in Elasticsearch (run) and its query API",
	}
	cmd.AddCommand(newNextgenRunCmd(a))
	for _, sub := range nextgenSubcommands {
		cmd.AddCommand(sub(a))
	}
	return cmd
}

// newNextgenRunCmd is `brooks nextgen run`: the stream engine.
func newNextgenRunCmd(a *app) *cobra.Command {
	o := engine.DefaultOptions()
	var addr string
	var withLedger bool
	var lookback, gcPercent int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume the raw-pixel topic into Cassandra raw events and Elasticsearch 5m/1d rollups, exactly once in effect",
		Long: `run consumes the raw-pixel topic in its own consumer group (--group), writes
every event once per eid to Cassandra (raw_events, by customer and hour) and
keeps the 5-minute and 1-day rollup documents in Elasticsearch. Each
partition's writer stores the last applied offset in every document it owns
and commits the Kafka offset only after the documents and raw rows are
written, so a crash, SIGKILL or rebalance never counts an event twice or
loses one. SIGTERM flushes, commits and leaves the group.
Run 'brooks migrate' first (keyspace, table, index templates).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			if _, set := os.LookupEnv("GOGC"); !set && gcPercent > 0 {
				debug.SetGCPercent(gcPercent)
			}
			es, err := esindex.Open(a.cfg.ElasticURL, a.cfg.IndexPrefix)
			if err != nil {
				return usageError{err}
			}
			ro, err := a.rawOptions()
			if err != nil {
				return usageError{err}
			}
			ro.LookbackHours = lookback
			raw, err := rawstore.Open(a.cfg.CassandraHosts, a.cfg.Keyspace, ro)
			if err != nil {
				return err
			}
			defer raw.Close()
			r, err := a.runner("nextgen-run", "nextgen_run", addr)
			if err != nil {
				return err
			}
			o.Brokers, o.Topic, o.Customers, o.Raw, o.ES = a.cfg.KafkaBrokers, a.cfg.Topic, customers, raw, es
			o.Logger, o.Registerer, o.ShutdownTimeout = a.log, r.Registry(), a.cfg.ShutdownTimeout
			if withLedger {
				o.Ledger = a.ledgerStore(r)
			}
			eng, err := engine.New(o)
			if err != nil {
				return usageError{err}
			}
			a.kafkaReady(r)
			r.AddReadyCheck("cassandra", raw.Ping)
			r.AddReadyCheck("elasticsearch", es.Ping)
			r.Go(component.Work, "engine", eng.Run)
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", "127.0.0.1:9184", "listen address for /metrics, /healthz and /readyz")
	f.StringVar(&o.Group, "group", o.Group, "Kafka consumer group")
	f.BoolVar(&withLedger, "ledger", true, "record the raw and rollup stages' per customer/hour counts and hashes in the Cassandra ledger, with the committed offsets")
	f.DurationVar(&o.FlushInterval, "flush-interval", o.FlushInterval, "how often each partition writes its changed rollup documents and commits")
	f.DurationVar(&o.DailyFlushInterval, "daily-flush-interval", o.DailyFlushInterval, "how often each partition writes its changed 1-day documents (they carry a day's visitor sets)")
	f.DurationVar(&o.CatchUpFlushInterval, "catch-up-flush-interval", o.CatchUpFlushInterval, "flush interval while a partition is far behind its end")
	f.IntVar(&o.MaxBatch, "max-batch", o.MaxBatch, "most records per raw-store batch and rollup step")
	f.IntVar(&o.BulkDocs, "bulk-docs", o.BulkDocs, "most documents per Elasticsearch _bulk request")
	f.IntVar(&o.PrimeLimit, "prime-limit", o.PrimeLimit, "most stored eid rows a partition's writer reads back when it takes the partition (its memory of recent eids)")
	f.DurationVar(&o.IdleEvict, "idle-evict", o.IdleEvict, "drop clean rollup documents untouched this long from memory")
	f.DurationVar(&o.RetentionInterval, "retention-interval", o.RetentionInterval, "how often to delete expired rollup indices (negative: never)")
	f.DurationVar(&o.SessionTimeout, "session-timeout", o.SessionTimeout, "consumer-group session timeout (how soon a dead engine's partitions move)")
	f.IntVar(&gcPercent, "gc-percent", engine.GCPercent, "Go garbage collector target (GOGC), unless the GOGC variable is set: the engine's heap is mostly long-lived rollup cells, so collecting less often saves CPU for the same work")
	f.IntVar(&lookback, "dedupe-hours", rawstore.DefaultOptions().LookbackHours, "UTC hours (the event's own included) searched for an earlier event with the same eid")
	return cmd
}

// nextgenMigrate creates the raw event keyspace and table and installs the
// rollup index templates (the migrate step of nextgen).
func nextgenMigrate(ctx context.Context, a *app) error {
	if err := rawstore.Migrate(ctx, a.cfg.CassandraHosts, a.cfg.Keyspace, a.cfg.CassandraRF); err != nil {
		return err
	}
	es, err := esindex.Open(a.cfg.ElasticURL, a.cfg.IndexPrefix)
	if err != nil {
		return err
	}
	es.RefreshInterval = a.cfg.ElasticRefresh
	return es.EnsureTemplates(ctx)
}

// rawOptions are the raw store's options with the configured consistency.
func (a *app) rawOptions() (rawstore.Options, error) {
	o := rawstore.DefaultOptions()
	cl, err := gocql.ParseConsistencyWrapper(a.cfg.CassandraCL)
	if err != nil {
		return o, fmt.Errorf("cassandra_consistency %q: want one, local_one, quorum, local_quorum, each_quorum or all", a.cfg.CassandraCL)
	}
	o.Consistency = cl
	return o, nil
}
