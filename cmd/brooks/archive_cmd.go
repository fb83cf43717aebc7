package main

import (
	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/internal/component"
)

// newArchiveCmd is `brooks archive`: the raw-log archiver (see
// audit/README.md), and `brooks archive verify`.
func newArchiveCmd(a *app) *cobra.Command {
	o := archive.DefaultOptions()
	var addr string
	var withLedger bool
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Copy the raw-pixel topic into hourly compressed files with manifests (own consumer group)",
		Long: `archive consumes the raw-pixel topic in its own consumer group and writes
{customer}/{YYYY-MM-DD}/{HH}/p{partition}-{firstOffset}.ndjson.gz parts with a
.manifest.json each under the archive folder (--archive-dir, default
$BROOKS_STATE/archive). Offsets are committed only after the parts holding the
records are durable; each part's tally goes to the ledger (stage archive).
SIGTERM closes every open part, commits and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sink, err := archive.NewLocal(a.cfg.Archive())
			if err != nil {
				return err
			}
			r, err := a.runner("archive", "archive", addr)
			if err != nil {
				return err
			}
			o.Brokers, o.Topic, o.Sink, o.Logger, o.Registerer = a.cfg.KafkaBrokers, a.cfg.Topic, sink, a.log, r.Registry()
			o.ShutdownTimeout = a.cfg.ShutdownTimeout
			if withLedger {
				o.Ledger = a.ledgerStore(r)
			}
			arch, err := archive.New(o)
			if err != nil {
				return usageError{err}
			}
			a.kafkaReady(r)
			r.AddReadyCheck("consumer_group", arch.Ready)
			r.Go(component.Work, "archiver", arch.Run)
			a.log.Info("archive folder", "path", sink.Root())
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", "127.0.0.1:9183", "listen address for /metrics, /healthz and /readyz")
	f.StringVar(&o.Group, "group", o.Group, "Kafka consumer group")
	f.DurationVar(&o.RollInterval, "roll-interval", o.RollInterval, "close a part this long after it opened (bounds the commit lag)")
	f.DurationVar(&o.HourGrace, "hour-grace", o.HourGrace, "keep an hour's part open this long after the hour ends")
	f.Int64Var(&o.MaxPartBytes, "max-part-bytes", o.MaxPartBytes, "close a part when its uncompressed content reaches this size")
	f.IntVar(&o.Compression, "gzip-level", o.Compression, "gzip level, 1 (fast) to 9 (small); -1 default")
	f.DurationVar(&o.SessionTimeout, "session-timeout", o.SessionTimeout, "consumer-group session timeout (how soon a dead archiver's partitions move)")
	f.BoolVar(&withLedger, "ledger", true, "record each closed part's tally in the Cassandra ledger (stage archive)")
	f.DurationVar(&o.LedgerReplay, "ledger-replay", o.LedgerReplay, "at start, record again in the ledger the parts closed this recently (0: off)")
	cmd.AddCommand(newArchiveVerifyCmd(a))
	return cmd
}
