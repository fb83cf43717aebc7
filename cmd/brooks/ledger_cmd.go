package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
)

// newLedgerCmd is `brooks ledger`: every stage's count and hash per hour,
// side by side, and where they disagree. The comparison is ledger.Compare.
func newLedgerCmd(a *app) *cobra.Command {
	var customer, from, to, format, nowFlag string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Show each pipeline stage's per-hour event count and event-id hash for a customer, and where stages disagree",
		Long: `ledger reads the lineage ledger (Cassandra) and prints, for each UTC hour,
every stage's count and order-free event-id hash (collector, archive,
cassandra, rollup, legacy: those that recorded anything), then what
disagrees with the first stage of the hour: "archive: 3 fewer than
collector", "cassandra: same count as collector, different events". An hour
is judged once it ended more than --grace ago; the others are "open".
Exit code: 0 all stages agree on every settled hour, 1 they disagree, 2 usage error.`,
		Example: `  brooks ledger --customer acme.example
  brooks ledger --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			if cs, err := a.customers(); err == nil {
				if _, err := cs.Get(customer); err != nil {
					return usageError{fmt.Errorf("--customer %q: not in %s (known: %v)", customer, a.cfg.CustomersFile, cs.IDs())}
				}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			now := time.Now().UTC()
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
				return fmt.Errorf("ledger: %w (is Cassandra up, and did `brooks migrate` run?)", err)
			}
			defer session.Close()
			hours, err := ledger.NewStore(session, a.cfg.Keyspace).Read(cmd.Context(), customer, fromT, toT)
			if err != nil {
				return err
			}
			rep := ledger.Compare(customer, hours, fromT, toT, now, grace)
			out := cmd.OutOrStdout()
			if format == "json" {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteText(out)
			}
			if err != nil {
				return err
			}
			if !rep.OK() {
				return exitCode(1)
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
	f.StringVar(&nowFlag, "now", "", "the report's clock, RFC 3339 (default: the wall clock); decides which hours are settled")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printVerify prints an archive verification report.
func printVerify(w io.Writer, rep *archive.VerifyReport) {
	fmt.Fprintf(w, "archive of %s: %d parts, %d events, %d bytes\n", rep.Customer, rep.Parts, rep.Events, rep.Bytes)
	keys := make([]ledger.Key, 0, len(rep.Tallies))
	for k := range rep.Tallies {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Hour.Before(keys[j].Hour) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOUR\tEVENTS\tEID HASH (from the files)")
	for _, k := range keys {
		t := rep.Tallies[k]
		fmt.Fprintf(tw, "%s\t%d\t%016x\n", k.Hour.Format("2006-01-02 15:04"), t.Count, t.Hash)
	}
	tw.Flush()
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM %s: %s\n", p.Key, p.Problem)
	}
	for _, o := range rep.Orphans {
		fmt.Fprintf(w, "orphan (no manifest, not in the archive): %s\n", o)
	}
	if rep.OK() {
		fmt.Fprintln(w, "every part matches its manifest")
	}
}
