package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
)

func newLoadgenCmd(a *app) *cobra.Command {
	var o loadgen.Options
	var expectPath string
	cmd := &cobra.Command{
		Use:   "loadgen (--events N | --duration D) [flags]",
		Short: "Send realistic synthetic tracker traffic to a collector and write exact expectations",
		Long: `loadgen generates traffic for the customers in its profiles (acme.example,
globex.example, initech.example: the customers of deploy/local/customers.yaml)
and sends it to a collector over the real Snowplow protocol. It simulates
readers (Zipf-popular posts and pages, new and returning visitors, sessions,
page pings, video starts, search/social/internal/direct referrers, utm
campaigns, devices).

Required: --events or --duration (or both: the first reached stops it).

Every run uses a fresh random seed, printed at the start: a run never
resends an earlier run's event ids (nextgen would drop them and legacy
count some twice). --seed repeats a run exactly. It prints what the
collector acknowledged per customer and writes exact expectations (per
customer, 5-minute bucket, URL, referrer category) to --expect; compare
them with a query API with 'bin/brooks loadgen check'. On a terminal it
shows a progress bar.`,
		Example: `  bin/brooks loadgen --events 20000 --expect /tmp/exp.jsonl
  bin/brooks loadgen --duration 60s --rate 300 --seed 42
  bin/brooks loadgen check --expect /tmp/exp.jsonl --api http://127.0.0.1:8082`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Events <= 0 && o.Duration <= 0 {
				return usageError{fmt.Errorf("give --events or --duration (required: how much traffic to send)")}
			}
			out := cmd.OutOrStdout()
			if !cmd.Flags().Changed("seed") {
				o.Seed = loadgen.NewSeed()
			}
			fmt.Fprintf(out, "loadgen: seed %d (repeat this run with --seed %d)\n", o.Seed, o.Seed)
			if cmd.Flags().Changed("seed") {
				fmt.Fprintln(cmd.ErrOrStderr(), "loadgen: warning: --seed sends the same event ids as any earlier run with this seed; if that run reached these systems, nextgen drops the repeats, legacy counts some twice, and the totals printed below match neither")
			}
			bar := progressBar(out, o)
			if bar != nil {
				o.Progress = func(acked, failed int) { _ = bar.Set(acked + failed) }
			}
			rep, err := loadgen.Run(cmd.Context(), o)
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(out)
			}
			if err != nil {
				return err
			}
			printReport(out, rep)
			if expectPath != "" {
				if err := rep.Expectations.WriteFile(expectPath); err != nil {
					return err
				}
				fmt.Fprintf(out, "expectations: %s\n", expectPath)
			}
			if rep.Failed > 0 {
				return fmt.Errorf("%d events were not acknowledged: %v", rep.Failed, rep.Rejected)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "collector base URL")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed; the same seed sends the same events (default: a fresh seed per run, printed)")
	f.IntVar(&o.Events, "events", 0, "stop after this many events (this or --duration is required)")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (this or --events is required)")
	f.Float64Var(&o.Rate, "rate", 0, "target events per second (0: as fast as possible)")
	f.IntVar(&o.Batch, "batch", 25, "events per POST tp2 request; 1 sends GET /i pixels")
	f.IntVar(&o.Concurrency, "concurrency", 8, "requests in flight")
	f.IntVar(&o.Visitors, "visitors", 2000, "visitor pool per customer")
	f.StringVar(&expectPath, "expect", "", "write exact expectations (JSON lines) to this file")
	cmd.AddCommand(newLoadgenCheckCmd(a))
	return cmd
}

// progressBar returns a bar when out is a terminal, else nil.
func progressBar(out io.Writer, o loadgen.Options) *progressbar.ProgressBar {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	if o.Events > 0 {
		return progressbar.NewOptions(o.Events, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("events"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	return progressbar.NewOptions(-1, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("events"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
}

// newLoadgenCheckCmd is `brooks loadgen check`: compare expectations files
// with a query API. The logic is loadgen.Check.
func newLoadgenCheckCmd(a *app) *cobra.Command {
	var paths []string
	var api, format string
	cmd := &cobra.Command{
		Use:   "check --expect FILE [--expect FILE2 ...] --api URL",
		Short: "Compare loadgen expectations with a query API's answers; exit non-zero on a difference",
		Long: `check sums the expectations files (one per loadgen run; give every run
since the systems started empty) and asks the query API, per customer,
page views (and, where it answers them, engaged seconds and video starts)
by url per 5 minutes over the files' range. Every cell must be equal;
legacy (served_by legacy) is expected to count post URLs only. Visitors
are not checked (not additive over runs, approximate in legacy).
Exit code: 0 equal, 1 a difference, 2 usage error, 3 nothing to check.`,
		Example: `  bin/brooks loadgen check --expect "$(ls .brooks/demo/expectations-*.jsonl | paste -sd, -)" --api http://127.0.0.1:8081`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(paths) == 0 || api == "" {
				return usageError{fmt.Errorf("--expect and --api are required")}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			cs, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			lines, err := loadgen.ReadExpectations(paths...)
			if err != nil {
				return usageError{err}
			}
			m, err := loadgen.Check(cmd.Context(), query.NewClient(api, clientOptions()...), lines, cs)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
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
	f.StringSliceVar(&paths, "expect", nil, "expectations file written by loadgen --expect (repeat, or comma-separate, for several runs)")
	f.StringVar(&api, "api", "", "query API base URL (legacy http://127.0.0.1:8081, nextgen http://127.0.0.1:8082)")
	f.StringVar(&format, "format", "text", "report format: text or json")
	return cmd
}

func printReport(out io.Writer, rep *loadgen.Report) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "customer\tacknowledged\tpageviews\tpings\tvideo_starts\tvisitors")
	var custs []string
	for c := range rep.Expectations.Sent {
		custs = append(custs, c)
	}
	sort.Strings(custs)
	for _, c := range custs {
		t := rep.Expectations.Total(func(k loadgen.Key) bool { return k.Customer == c })
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\n", c, rep.Expectations.Sent[c], t.Pageviews, t.Pings, t.VideoStarts, t.Visitors)
	}
	w.Flush()
	fmt.Fprintf(out, "elapsed %s, %d requests (%d retries), %.0f events/s accepted, %d failed, %d straddled a 5m boundary\n",
		rep.Elapsed.Round(time.Millisecond), rep.Requests, rep.Retries, rep.AcceptedPerSecond(), rep.Failed, rep.Expectations.Straddled)
	for ep, l := range rep.Latency {
		fmt.Fprintf(out, "%s latency: p50 %s p99 %s max %s (%d requests)\n", ep, l.P50, l.P99, l.Max, l.Count)
	}
}
