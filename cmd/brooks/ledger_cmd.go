package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/pixel"
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
				if notes, err = addTruth(cmd.Context(), a, cs, hours, customer, fromT, toT, lookback); err != nil {
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

// addTruth adds the truth stages, recomputed from the archive, to hours.
// Without an archive for the period it adds nothing and says so.
func addTruth(ctx context.Context, a *app, cs *pixel.Customers, hours ledger.Hours, customer string, from, to time.Time, lookback time.Duration) ([]string, error) {
	root := a.cfg.Archive()
	if _, err := os.Stat(root); err != nil {
		return []string{fmt.Sprintf("no truth references: no archive at %s (BROOKS_STATE or --archive-dir)", root)}, nil
	}
	sink, err := archive.NewLocal(root)
	if err != nil {
		return nil, err
	}
	truth, err := archive.Truth(ctx, sink, customer, from, to, lookback,
		map[string]archive.Subset{ledger.StageTruth: nil, ledger.StageTruthLegacy: legacy.Counts(cs)})
	if err != nil {
		return nil, fmt.Errorf("truth from the archive %s: %w (run bin/brooks archive verify)", root, err)
	}
	n := 0
	for stage, byHour := range truth {
		for h, t := range byHour {
			if hours[h] == nil {
				hours[h] = map[string]ledger.Tally{}
			}
			hours[h][stage] = t
			n++
		}
	}
	if n == 0 {
		return []string{fmt.Sprintf("no truth references: the archive %s has no parts of %s in the period", root, customer)}, nil
	}
	return []string{fmt.Sprintf("truth and truth_legacy recomputed from the archive %s (distinct event ids; looking back %s)", root, lookback)}, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
