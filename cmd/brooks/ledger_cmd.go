package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/api"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/cass"
)

// newLedgerCmd is `brooks ledger`: every stage's count and hash per hour,
// side by side, and where they disagree. The comparison is
// ledger.CompareWith; the truth references come from archive.Truth.
func newLedgerCmd(a *app) *cobra.Command {
	var customer, from, to, format, nowFlag string
	var grace, lookback time.Duration
	var withTruth bool
	minSettled := diff.DefaultMinCompared
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Show each pipeline stage's per-hour event count and event-id hash for a customer, and where stages disagree",
		Long: `ledger reads the lineage ledger (Cassandra) and prints, for each UTC hour,
every stage's count and order-free event-id hash side by side (collector,
archive, cassandra/raw, rollup, legacy: those that recorded anything), then
what disagrees: "archive: 3 fewer than collector", "legacy: 415 more than
truth_legacy (counted twice ...)".

The collector and archive see every record sent, tracker retries included;
they are compared with each other. The counting stages are compared with
the truth, recomputed from the archive files: "truth" is the distinct
event ids, each in the hour of its first record; "truth_legacy" the same
for post page views, the only thing legacy counts. A counting stage above
its truth counted events twice.

An hour is judged once it ended more than --grace ago by both --now and
the wall clock; before that it is "open" and a shortfall is "not closed
yet", never loss. Fewer than --min-settled settled hours is INCONCLUSIVE.
An unknown customer is an error.
Exit code: 0 match, 1 stages disagree, 2 usage error or unknown customer,
3 inconclusive.`,
		Example: `  bin/brooks ledger --customer acme.example
  bin/brooks ledger --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			cs, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			if _, err := cs.Get(customer); err != nil {
				return usageError{fmt.Errorf("--customer %q: not in %s (known: %v)", customer, a.cfg.CustomersFile, cs.IDs())}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			if minSettled < 1 {
				return usageError{fmt.Errorf("--min-settled %d: want at least 1", minSettled)}
			}
			wall := time.Now().UTC()
			now := wall
			if nowFlag != "" {
				t, err := time.Parse(time.RFC3339, nowFlag)
				if err != nil {
					return usageError{fmt.Errorf("--now %q: want RFC 3339", nowFlag)}
				}
				now = t.UTC()
			}
			fromT, toT, err := period(from, to, now)
			if err != nil {
				return usageError{err}
			}
			session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return fmt.Errorf("ledger: %w (is Cassandra up, and did `bin/brooks migrate` run?)", err)
			}
			defer session.Close()
			hours, err := ledger.NewStore(session, a.cfg.Keyspace).Read(cmd.Context(), customer, fromT, toT)
			if err != nil {
				return err
			}
			var notes []string
			if withTruth {
				if notes, err = api.AddTruth(cmd.Context(), a.cfg.Archive(), cs, hours, customer, fromT, toT, lookback); err != nil {
					return err
				}
			}
			rep := ledger.CompareWith(hours, ledger.CompareOptions{
				Customer: customer, From: fromT, To: toT, Now: now, Wall: wall, Grace: grace, MinSettled: minSettled,
			})
			rep.Notes = append(notes, rep.Notes...)
			out := cmd.OutOrStdout()
			if format == "json" {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteText(out)
			}
			if err != nil {
				return err
			}
			if code := rep.Verdict.ExitCode(); code != diff.ExitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&customer, "customer", "", "customer id (required)")
	f.StringVar(&from, "from", "24h", "start, RFC 3339 or a duration ago")
	f.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: now)")
	f.DurationVar(&grace, "grace", 10*time.Minute, "an hour is settled once it ended this long ago")
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVar(&nowFlag, "now", "", "the report's clock, RFC 3339 (default: the wall clock); an hour closes only once the wall clock has passed it too")
	f.IntVar(&minSettled, "min-settled", minSettled, "fewest settled hours for a verdict other than INCONCLUSIVE (exit 3)")
	f.BoolVar(&withTruth, "truth", true, "recompute the truth references (distinct event ids, distinct post page views) from the archive files")
	f.DurationVar(&lookback, "truth-lookback", 6*time.Hour, "read the archive this long before --from too, so retries of older events are not taken for new ones")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
