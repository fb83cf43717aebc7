package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/loadgen/bench"
)

// newBenchCmd is `brooks bench`, whose one subcommand `bench platform` is
// the whole-platform benchmark behind `make bench`. The logic is
// loadgen/bench.
func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks against the real local stack (see 'bench platform')",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchPlatformCmd(a))
	return cmd
}

func newBenchPlatformCmd(a *app) *cobra.Command {
	o := bench.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "platform [flags]",
		Short: "Run every component on its own ports, groups and a fresh topic, load it at full speed, wait for the drain and print one table",
		Long: `platform starts every Brooks component (collector, archive, legacy ingest and
serve, nextgen run and serve) on ports from --base-port, with consumer groups
and a topic new to this run and the bench's own keyspace, index prefix, Mongo
database and Redis key prefix, so it never touches the demo's data. It runs
'brooks loadgen' at full speed (--batch, --concurrency) for --duration, sends a
freshness probe through the collector every second and polls both query APIs
for it, waits until every consumer group's committed lag is zero, then asks
both query APIs each standard shape (shadow/matrix) --query-reps times.

It prints one markdown table and writes it with a JSON copy under
$BROOKS_STATE/bench/: accepted events/s, each consumer's rate, lag and drain
time, freshness p50/p99 per system, CPU µs per accepted event for each Brooks
process and each server (from /proc; loadgen reported apart), and query
p50/p99 per system and shape. Every process it started is stopped at the end
and the run's topic and archive deleted (--keep to keep them).

The servers must be running (make services-up); the figures are only as clean
as the machine is quiet: the table reports the load average and the CPU the
rest of the machine used in the window.`,
		Example: `  bin/brooks bench platform                   # the issue's scenario: 40 s, batches of 100, 8 in flight
  bin/brooks bench platform --duration 10s --query-reps 3   # a quick check of the harness`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: own binary: %w", err)
			}
			o.Binary = exe
			o.StateDir = a.cfg.StateDir
			o.KafkaBrokers = a.cfg.KafkaBrokers
			o.Partitions = a.cfg.TopicPartitions
			o.CassandraHosts, o.ElasticURL = a.cfg.CassandraHosts, a.cfg.ElasticURL
			o.Logger = a.log
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			res, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err // an unfinished run's figures would mislead: none are written
			}
			res.WriteMarkdown(cmd.OutOrStdout())
			path, err := res.Save(filepath.Join(a.cfg.StateDir, "bench"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nwritten: %s (and .md)\n", path)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Duration, "duration", o.Duration, "how long loadgen sends")
	f.IntVar(&o.Batch, "batch", o.Batch, "events per loadgen request")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "loadgen requests in flight")
	f.IntVar(&o.BasePort, "base-port", o.BasePort, "port base: collector +80, legacy serve +81, nextgen serve +82, legacy ingest +181, archive +183, nextgen run +184")
	f.IntVar(&o.WarmupEvents, "warmup-events", o.WarmupEvents, "events sent at 500/s, and committed by every consumer, before the measurement (0: none)")
	f.DurationVar(&o.DrainTimeout, "drain-timeout", o.DrainTimeout, "longest wait for the consumers to drain after the load")
	f.IntVar(&o.QueryReps, "query-reps", o.QueryReps, "times each standard shape is asked of each system (0: no query benchmark)")
	f.StringVar(&o.Keyspace, "bench-keyspace", o.Keyspace, "start of the run's own Cassandra keyspace (<this>_<run>, dropped at the end)")
	f.StringVar(&o.IndexPrefix, "bench-index-prefix", o.IndexPrefix, "start of the run's own Elasticsearch index prefix (<this>-<run>, deleted at the end)")
	f.StringVar(&o.MongoDatabase, "bench-mongo-database", o.MongoDatabase, "the bench's MongoDB database")
	f.StringVar(&o.RedisPrefix, "bench-redis-prefix", o.RedisPrefix, "the bench's legacy Redis key prefix")
	f.BoolVar(&o.KeepTopic, "keep", false, "keep the run's topic and archive")
	return cmd
}
