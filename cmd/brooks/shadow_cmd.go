package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// newShadowCmd is `brooks shadow report`: the shadow comparer's evidence
// for one customer (shadow/evidence), the same as GET /v1/shadow/summary.
func newShadowCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "shadow", Short: "Read the shadow comparer's evidence"}
	var files proxyFiles
	files.register(cmd, a)
	var customer, since string
	var asJSON bool
	o := evidence.SummaryOptions{MinCompared: 20}
	report := &cobra.Command{
		Use:   "report",
		Short: "Match rate, comparisons, coverage, open mismatches with samples, rule hits and expired rules of one customer",
		Example: `  brooks shadow report --customer acme.example --since 24h
  brooks shadow report --customer acme.example --since 2026-12-01T00:00:00Z --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			until := time.Now().UTC()
			from, err := evidence.ParseSince(since, until)
			if err != nil {
				return usageError{fmt.Errorf("--since: %w", err)}
			}
			if rules, err := diff.LoadConfig(a.rooted(files.rules)); err == nil {
				o.Rules = rules.Rules
			} else {
				a.log.Warn("rules file not read: expired rules not listed", "err", err)
			}
			session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return fmt.Errorf("evidence store: %w", err)
			}
			defer session.Close()
			o.Shapes = matrix.SyntheticIDs()
			s, err := evidence.Summarize(cmd.Context(), evidence.NewStore(session, a.cfg.Keyspace, evidence.Options{}), customer, from, until, o)
			if err != nil {
				return err
			}
			if asJSON {
				err = s.JSON(cmd.OutOrStdout())
			} else {
				err = s.Text(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			return shadowExit(s.Verdict)
		},
	}
	f := report.Flags()
	f.StringVar(&customer, "customer", "", "the customer (required)")
	f.StringVar(&since, "since", "24h", "period start: a duration back from now (24h, 7d) or an RFC 3339 time")
	f.BoolVar(&asJSON, "json", false, "print JSON (schema brooks.shadow.summary/v1) instead of text")
	f.IntVar(&o.MinCompared, "min-compared", o.MinCompared, "settled comparisons needed for a verdict other than INCONCLUSIVE")
	cmd.AddCommand(report)
	return cmd
}

// shadowExit is the report's exit status, as every evidence command's:
// 0 PASS, 1 FAIL, 3 INCONCLUSIVE (too few settled comparisons is not a pass).
func shadowExit(verdict string) error {
	switch verdict {
	case evidence.Pass:
		return nil
	case evidence.Fail:
		return exitCode(diff.ExitMismatch)
	default:
		return exitCode(diff.ExitInconclusive)
	}
}
