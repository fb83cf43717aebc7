package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/diff"
)

// newDiffCmd is `brooks diff LEFT.json RIGHT.json`: compare two saved query
// answers. The logic is diff.RunFiles; see diff/README.md. It exits with
// its verdict's code (exitCode: 1 mismatch, 3 inconclusive) and 2 on a
// usage or input error (usageError).
func newDiffCmd() *cobra.Command {
	o := diff.DefaultRunOptions()
	cmd := &cobra.Command{
		Use:   "diff LEFT.json RIGHT.json",
		Short: "Compare two saved query answers and classify every difference",
		Long: `Compare two answers to the same query (legacy vs nextgen, or either vs
ground truth) cell by cell and classify every difference: missing_left,
missing_right, value_drift (mismatches), within_tolerance, expected (an
expected-difference rule), unsettled (bucket too recent).

Fewer than --min-compared settled cells is INCONCLUSIVE, never MATCH: no
evidence is not a pass.

Exit code: 0 match, 1 mismatch, 2 usage or input error, 3 inconclusive.`,
		Example: `  bin/brooks diff legacy.json nextgen.json --rules rules.yaml --now 2026-11-25T12:00:00Z --settle 10m
  bin/brooks diff truth.json nextgen.json --format json --sample-cap 50`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("diff: want two answer files, LEFT.json and RIGHT.json; got %d argument(s)", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := diff.RunFiles(cmd.OutOrStdout(), args[0], args[1], o)
			switch {
			case err != nil:
				return usageError{fmt.Errorf("diff: %w", err)}
			case code != diff.ExitOK:
				return exitCode(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.RulesFile, "rules", o.RulesFile, "YAML file of expected-difference rules and tolerances")
	f.StringVar(&o.Now, "now", o.Now, "the comparison's clock, RFC 3339 (default: the wall clock)")
	f.DurationVar(&o.Settle, "settle", o.Settle, "settle delay: a bucket is compared once its end + delay <= now")
	f.StringVar(&o.Format, "format", o.Format, "report format: text or json")
	f.IntVar(&o.SampleCap, "sample-cap", o.SampleCap, "samples kept per class")
	f.IntVar(&o.MinCompared, "min-compared", o.MinCompared, "fewest settled cells compared for a verdict other than INCONCLUSIVE (exit 3)")
	return cmd
}
