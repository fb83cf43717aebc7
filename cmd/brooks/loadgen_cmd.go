package main

import (
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/loadgen"
)

func newLoadgenCmd(a *app) *cobra.Command {
	var o loadgen.Options
	var expectPath string
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Send realistic synthetic tracker traffic to a collector and write exact expectations",
		Long: `loadgen simulates readers of the customers' sites (Zipf-popular posts and
pages, new and returning visitors, sessions, page pings, video starts,
search/social/internal/direct referrers, utm campaigns, devices) and sends
them over the real Snowplow protocol. The same --seed sends the same events.
It prints what the collector acknowledged per customer and writes exact
expectations (per customer, 5-minute bucket, URL, referrer category) to
--expect.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Events <= 0 && o.Duration <= 0 {
				return usageError{fmt.Errorf("give --events or --duration")}
			}
			rep, err := loadgen.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			printReport(rep)
			if expectPath != "" {
				if err := rep.Expectations.WriteFile(expectPath); err != nil {
					return err
				}
				fmt.Printf("expectations: %s\n", expectPath)
			}
			if rep.Failed > 0 {
				return fmt.Errorf("%d events were not acknowledged: %v", rep.Failed, rep.Rejected)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "collector base URL")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed; the same seed sends the same events")
	f.IntVar(&o.Events, "events", 0, "stop after this many events")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long")
	f.Float64Var(&o.Rate, "rate", 0, "target events per second (0: as fast as possible)")
	f.IntVar(&o.Batch, "batch", 25, "events per POST tp2 request; 1 sends GET /i pixels")
	f.IntVar(&o.Concurrency, "concurrency", 8, "requests in flight")
	f.IntVar(&o.Visitors, "visitors", 2000, "visitor pool per customer")
	f.StringVar(&expectPath, "expect", "", "write exact expectations (JSON lines) to this file")
	return cmd
}

func printReport(rep *loadgen.Report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
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
	fmt.Printf("elapsed %s, %d requests (%d retries), %.0f events/s accepted, %d failed, %d straddled a 5m boundary\n",
		rep.Elapsed.Round(time.Millisecond), rep.Requests, rep.Retries, rep.AcceptedPerSecond(), rep.Failed, rep.Expectations.Straddled)
	for ep, l := range rep.Latency {
		fmt.Printf("%s latency: p50 %s p99 %s max %s (%d requests)\n", ep, l.P50, l.P99, l.Max, l.Count)
	}
}
