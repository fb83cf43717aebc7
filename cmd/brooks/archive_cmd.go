package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
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
STATE_DIR/archive). Offsets are committed only after the parts holding the
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

// newArchiveVerifyCmd is `brooks archive verify`: re-read parts and check
// them against their manifests.
func newArchiveVerifyCmd(a *app) *cobra.Command {
	var customer, from, to, format string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-read archived parts and check size, sha256, record count and event-id hash against their manifests",
		Long: `verify re-reads every part of the period (default: the last 24 hours) and
checks it against its manifest. It prints, per hour, the tally recomputed from
the files (compare with 'brooks ledger'), every problem found, and parts
without a manifest (left by a crash; not part of the archive).
Exit code: 0 all parts match, 1 a problem was found, 2 usage error.`,
		Example: `  brooks archive verify --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			now := time.Now()
			fromT, toT, err := period(from, to, now)
			if err != nil {
				return usageError{err}
			}
			sink, err := archive.NewLocal(a.cfg.Archive())
			if err != nil {
				return err
			}
			customers := []string{customer}
			if customer == "" {
				if customers, err = archive.Customers(cmd.Context(), sink); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			bad := 0
			for _, c := range customers {
				rep, err := archive.Verify(cmd.Context(), sink, c, fromT, toT)
				if err != nil {
					return err
				}
				if format == "json" {
					if err := writeJSON(out, rep); err != nil {
						return err
					}
				} else {
					printVerify(out, rep)
				}
				bad += len(rep.Problems)
			}
			if bad > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&customer, "customer", "", "customer id (default: every customer in the archive)")
	f.StringVar(&from, "from", "24h", "start, RFC 3339 or a duration ago")
	f.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: now)")
	f.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// period parses --from/--to ("" to means now).
func period(from, to string, now time.Time) (time.Time, time.Time, error) {
	f, err := ledger.ParseTime(from, now)
	if err != nil {
		return f, f, fmt.Errorf("--from: %w", err)
	}
	t := now.UTC()
	if to != "" {
		if t, err = ledger.ParseTime(to, now); err != nil {
			return f, t, fmt.Errorf("--to: %w", err)
		}
	}
	if !f.Before(t) {
		return f, t, fmt.Errorf("--from %s is not before --to %s", f.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return f, t, nil
}
