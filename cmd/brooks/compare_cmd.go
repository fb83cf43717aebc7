package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// compareOptions are the flags of `brooks compare`.
type compareOptions struct {
	customer, from, to    string
	legacyURL, nextgenURL string
	now, format           string
	run                   diff.RunOptions
	timeout               time.Duration
	defaultRange          time.Duration
}

// newCompareCmd is `brooks compare`: ask both query APIs the standard
// query shapes (shadow/matrix) for a settled range, diff each pair with the
// versioned expected-difference rules and judge them together.
func newCompareCmd(a *app) *cobra.Command {
	o := compareOptions{run: diff.DefaultRunOptions(), timeout: time.Minute, defaultRange: time.Hour}
	o.run.RulesFile = "deploy/rules/expected-differences.yaml"
	cmd := &cobra.Command{
		Use:   "compare --customer C [--from T1 --to T2]",
		Short: "Ask legacy and nextgen the standard query shapes for a range and diff every answer",
		Long: `compare asks both query APIs (legacy, nextgen) every standard query shape
for the customer and range: pageviews and visitors × no group, by url, by
referrer_category, by url and referrer_category × 5m, 1d and total (the
intervals the range is aligned to). It diffs each pair with the
expected-difference rules (--rules, default deploy/rules/expected-differences.yaml in
the Brooks root) and prints one report: the verdict, a line per shape, the
full diff of every shape that mismatched. A shape one system cannot answer
(422) is skipped and listed.

Only settled buckets are compared (bucket end + --settle <= --now): with
fewer than --min-compared settled cells over all shapes the verdict is
INCONCLUSIVE. Default range: the hour that ended --settle ago (on the
5-minute clock).
Exit code: 0 match, 1 mismatch, 2 usage or input error, 3 inconclusive.`,
		Example: `  bin/brooks compare --customer acme.example
  bin/brooks compare --customer acme.example --from 2026-11-25T10:00:00Z --to 2026-11-25T11:00:00Z --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := runCompare(cmd.Context(), a, o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.format == "json" {
				err = writeJSON(out, m)
			} else {
				err = m.Text(out)
			}
			if err != nil {
				return err
			}
			if code := m.Verdict.ExitCode(); code != diff.ExitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.customer, "customer", "", "customer id (required)")
	f.StringVar(&o.from, "from", "", "start, RFC 3339 or a duration ago (default: --to minus 1h)")
	f.StringVar(&o.to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: --settle ago, on the 5-minute clock)")
	f.StringVar(&o.legacyURL, "legacy-url", "http://127.0.0.1:8081", "legacy query API (left)")
	f.StringVar(&o.nextgenURL, "nextgen-url", "http://127.0.0.1:8082", "nextgen query API (right)")
	f.StringVar(&o.run.RulesFile, "rules", o.run.RulesFile, "expected-difference rules and tolerances (YAML); relative to the Brooks root")
	f.StringVar(&o.now, "now", "", "the comparison's clock, RFC 3339 (default: the wall clock)")
	f.DurationVar(&o.run.Settle, "settle", o.run.Settle, "settle delay: a bucket is compared once its end + delay <= now")
	f.StringVar(&o.format, "format", "text", "report format: text or json (one document)")
	f.IntVar(&o.run.SampleCap, "sample-cap", o.run.SampleCap, "samples kept per class and shape")
	f.IntVar(&o.run.MinCompared, "min-compared", o.run.MinCompared, "fewest settled cells compared over all shapes for a verdict other than INCONCLUSIVE (exit 3)")
	f.DurationVar(&o.timeout, "timeout", o.timeout, "timeout of one query")
	return cmd
}

// runCompare asks both systems every shape and judges the answers.
func runCompare(ctx context.Context, a *app, o compareOptions) (*diff.MultiReport, error) {
	if o.customer == "" {
		return nil, usageError{errors.New("--customer is required")}
	}
	cs, err := a.customers()
	if err != nil {
		return nil, usageError{err}
	}
	if _, err := cs.Get(o.customer); err != nil {
		return nil, usageError{fmt.Errorf("--customer %q: not in %s (known: %v)", o.customer, a.cfg.CustomersFile, cs.IDs())}
	}
	if o.format != "text" && o.format != "json" {
		return nil, usageError{fmt.Errorf("--format %q: want text or json", o.format)}
	}
	o.run.Now = o.now
	o.run.RulesFile = a.rooted(o.run.RulesFile)
	opts, err := o.run.Options()
	if err != nil {
		return nil, usageError{err}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC()
		opts.Now = now
	}
	to := now.Add(-opts.SettleDelay).Truncate(5 * time.Minute)
	if o.to != "" {
		if to, err = parseBound("--to", o.to, now); err != nil {
			return nil, usageError{err}
		}
	}
	from := to.Add(-o.defaultRange)
	if o.from != "" {
		if from, err = parseBound("--from", o.from, now); err != nil {
			return nil, usageError{err}
		}
	}
	if !from.Before(to) {
		return nil, usageError{fmt.Errorf("--from %s is not before --to %s: the range is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	hc := &http.Client{Timeout: o.timeout}
	left := query.NewClient(o.legacyURL, clientOptions(query.WithHTTPClient(hc))...)
	right := query.NewClient(o.nextgenURL, clientOptions(query.WithHTTPClient(hc))...)
	m := &diff.MultiReport{Customer: o.customer, From: from.UTC(), To: to.UTC(), Now: now, Left: "legacy", Right: "nextgen"}
	for _, s := range matrix.Standard(from, to) {
		q := s.Query(o.customer, from, to)
		res := diff.ShapeResult{Name: s.Name()}
		la, lerr := left.Do(ctx, q)
		ra, rerr := right.Do(ctx, q)
		if skip, err := skipped(lerr, "legacy", o.legacyURL, rerr, "nextgen", o.nextgenURL); err != nil {
			return nil, err
		} else if skip != "" {
			res.Skipped = skip
			m.Shapes = append(m.Shapes, res)
			continue
		}
		la.Query, ra.Query = q, q
		shapeOpts := opts
		shapeOpts.LeftName, shapeOpts.RightName = "legacy", "nextgen"
		rep, err := diff.CompareAnswers(la, ra, shapeOpts)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", s.Name(), err)
		}
		res.Report = rep
		m.Shapes = append(m.Shapes, res)
	}
	diff.Combine(m, opts.MinCompared, opts.SettleDelay)
	return m, nil
}

// skipped turns a 422 from either side into a reason to skip the shape;
// any other error is returned, naming the system and its URL.
func skipped(lerr error, lname, lurl string, rerr error, rname, rurl string) (string, error) {
	reason := ""
	for _, s := range []struct {
		err        error
		name, base string
	}{{lerr, lname, lurl}, {rerr, rname, rurl}} {
		if s.err == nil {
			continue
		}
		var ae *query.APIError
		if errors.As(s.err, &ae) && ae.Status == http.StatusUnprocessableEntity {
			if reason != "" {
				reason += "; "
			}
			reason += s.name + ": " + ae.Message
			continue
		}
		return "", fmt.Errorf("%s query API at %s: %w (is `bin/brooks %s serve` running? --%s-url)", s.name, s.base, s.err, s.name, s.name)
	}
	return reason, nil
}

func parseBound(flag, v string, now time.Time) (time.Time, error) {
	t, err := ledger.ParseTime(v, now)
	if err != nil {
		return t, fmt.Errorf("%s: %w", flag, err)
	}
	return t, nil
}
