package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
)

// newArchiveVerifyCmd is `brooks archive verify`: re-read parts and check
// them against their manifests. The logic is archive.VerifyCustomers.
func newArchiveVerifyCmd(a *app) *cobra.Command {
	var customer, from, to, format string
	minParts := diff.DefaultMinCompared
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-read archived parts and check size, sha256, record count and event-id hash against their manifests",
		Long: `verify re-reads every part of the period (default: the last 24 hours) and
checks it against its manifest. It prints, per hour, the tally recomputed from
the files (compare with 'bin/brooks ledger', stage archive), every problem
found, and parts without a manifest (left by a crash; not part of the
archive). Fewer than --min-parts parts checked is INCONCLUSIVE: no evidence
is not a pass. An unknown customer, or an archive without customers, is an
error naming it. --format json prints one JSON document.
Exit code: 0 match, 1 a problem was found, 2 usage error or unknown
customer, 3 inconclusive.`,
		Example: `  bin/brooks archive verify --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z
  bin/brooks archive verify --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			if minParts < 1 {
				return usageError{fmt.Errorf("--min-parts %d: want at least 1 (checking nothing proves nothing)", minParts)}
			}
			fromT, toT, err := period(from, to, time.Now())
			if err != nil {
				return usageError{err}
			}
			if err := a.cfg.RequireArchive(); err != nil {
				return usageError{err}
			}
			root := a.cfg.Archive()
			sink, err := archive.NewLocal(root)
			if err != nil {
				return err
			}
			inArchive, err := archive.Customers(cmd.Context(), sink)
			if err != nil {
				return err
			}
			customers := []string{customer}
			switch {
			case customer == "" && len(inArchive) == 0:
				return usageError{fmt.Errorf("archive %s holds no customers: is the archiver running (bin/brooks archive), and is BROOKS_STATE (or --archive-dir) the state it writes to?", root)}
			case customer == "":
				customers = inArchive
			case !slices.Contains(inArchive, customer):
				cs, err := a.customers()
				if err != nil {
					return usageError{err}
				}
				if _, err := cs.Get(customer); err != nil {
					return usageError{fmt.Errorf("--customer %q: not in %s (known: %v) and not in the archive %s", customer, a.cfg.CustomersFile, cs.IDs(), root)}
				}
			}
			v, err := archive.VerifyCustomers(cmd.Context(), sink, root, customers, fromT, toT, minParts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				err = writeJSON(out, v)
			} else {
				err = printVerification(out, v)
			}
			if err != nil {
				return err
			}
			if code := v.Verdict.ExitCode(); code != diff.ExitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&customer, "customer", "", "customer id (default: every customer in the archive)")
	f.StringVar(&from, "from", "24h", "start, RFC 3339 or a duration ago")
	f.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: now)")
	f.StringVar(&format, "format", "text", "output format: text or json (one document)")
	f.IntVar(&minParts, "min-parts", minParts, "fewest parts checked for a verdict other than INCONCLUSIVE (exit 3)")
	return cmd
}

// printVerification prints a verification for a person: per customer the
// per-hour tallies and problems, then the verdict.
func printVerification(w io.Writer, v *archive.Verification) error {
	ew := &errWriter{w: w}
	for _, rep := range v.Customers {
		fmt.Fprintf(ew, "archive of %s: %d parts, %d events, %d bytes\n", rep.Customer, rep.Parts, rep.Events, rep.Bytes)
		if len(rep.Hours) > 0 {
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "HOUR\tEVENTS\tEID HASH (from the files)")
			for _, h := range rep.Hours {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", h.Hour.Format("2006-01-02 15:04"), h.Events, h.Hash)
			}
			tw.Flush()
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(ew, "PROBLEM %s: %s\n", p.Key, p.Problem)
		}
		for _, o := range rep.Orphans {
			fmt.Fprintf(ew, "orphan (no manifest, not in the archive): %s\n", o)
		}
	}
	fmt.Fprintf(ew, "verdict: %s: %d parts, %d events, %d problems", v.Verdict.Upper(), v.Parts, v.Events, v.Problems)
	switch v.Verdict {
	case diff.VerdictMatch:
		fmt.Fprintln(ew, "; every part matches its manifest")
	case diff.VerdictInconclusive:
		fmt.Fprintf(ew, "\nwhy: %s\n", v.Reason)
	default:
		fmt.Fprintln(ew)
	}
	return ew.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
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
		return f, t, fmt.Errorf("--from %s is not before --to %s: the period is empty", f.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return f, t, nil
}
