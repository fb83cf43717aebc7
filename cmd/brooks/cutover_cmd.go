package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// cutoverFlags are the settings every `brooks cutover` subcommand shares:
// where the gates read their evidence, and the thresholds.
type cutoverFlags struct {
	gates      cutover.GateOptions
	ctl        cutover.Options
	nextgenURL string
	metricsURL string
	minSummary int
	jsonOut    bool
}

func (f *cutoverFlags) register(cmd *cobra.Command) {
	f.gates, f.ctl = cutover.DefaultGateOptions(), cutover.DefaultOptions()
	p := cmd.PersistentFlags()
	g := &f.gates
	p.StringVar(&f.nextgenURL, "nextgen-url", "http://127.0.0.1:8082", "nextgen query API (legacy → shadow gate: nextgen has data)")
	p.StringVar(&f.metricsURL, "nextgen-metrics-url", "http://127.0.0.1:9184/metrics", "nextgen engine's /metrics (freshness gate); empty: no freshness evidence, the gate blocks")
	p.DurationVar(&g.SettleWindow, "gate-settle", g.SettleWindow, "legacy → shadow: nextgen data older than this; audit days count once ended this long ago")
	p.IntVar(&g.AuditDays, "gate-audit-days", g.AuditDays, "shadow → live and live → complete: clean audit certificates for the last N settled days")
	p.DurationVar(&g.EvidenceWindow, "gate-window", g.EvidenceWindow, "shadow → live: shadow evidence period")
	p.Float64Var(&g.MinMatchRate, "gate-match-rate", g.MinMatchRate, "shadow → live: least match rate of settled comparisons")
	p.IntVar(&g.MinSettled, "gate-min-settled", g.MinSettled, "shadow → live: fewest settled comparisons in the window")
	p.Float64Var(&g.MinCoverage, "gate-coverage", g.MinCoverage, "shadow → live: least coverage of the query matrix")
	p.DurationVar(&g.MaxFreshnessP99, "gate-freshness-p99", g.MaxFreshnessP99, "shadow → live: nextgen freshness p99 below this")
	p.DurationVar(&g.LiveFor, "gate-live-for", g.LiveFor, "live → complete: live this long without a rollback")
	p.BoolVar(&f.jsonOut, "json", false, "print JSON")
}

// controller connects to Cassandra and builds the controller; close ends
// the session.
func (f *cutoverFlags) controller(a *app, reg func(*cutover.Options)) (*cutover.Controller, *cutover.Store, func(), error) {
	session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cutover store: %w (run `bin/brooks migrate`)", err)
	}
	customers, err := a.customers()
	if err != nil {
		session.Close()
		return nil, nil, nil, usageError{err}
	}
	store := cutover.NewStore(session, a.cfg.Keyspace)
	gates := &cutover.Gates{Options: f.gates,
		Evidence: cutover.EvidenceSummaries{Reader: evidence.NewStore(session, a.cfg.Keyspace, evidence.Options{}),
			Options: evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}},
		Audit:   cutover.Certificates{Session: session, Keyspace: a.cfg.Keyspace},
		Nextgen: query.NewClient(f.nextgenURL),
	}
	if f.metricsURL != "" {
		fr := cutover.URLFreshness{URL: f.metricsURL}
		fr.Token = os.Getenv(EnvAPIToken) // nextgen's /metrics needs an admin token when it has api_tokens_file
		gates.Freshness = fr
	}
	o := f.ctl
	o.Store, o.Gates, o.Customers, o.Logger = store, gates, customers.IDs(), a.log
	if reg != nil {
		reg(&o)
	}
	c, err := cutover.New(o)
	if err != nil {
		session.Close()
		return nil, nil, nil, usageError{err}
	}
	return c, store, session.Close, nil
}

// newCutoverCmd is `brooks cutover`: per-customer cutover states in
// Cassandra, their gates, moves and history (shadow/cutover), and `run`,
// the controller with automatic rollback and the admin HTTP API.
func newCutoverCmd(a *app) *cobra.Command {
	var f cutoverFlags
	cmd := &cobra.Command{Use: "cutover", Short: "Per-customer cutover states (legacy → shadow → live → complete): status, gates, advance, rollback, history, run"}
	f.register(cmd)
	var customer, reason, from string
	var force bool
	withCtl := func(run func(cmd *cobra.Command, c *cutover.Controller) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c, _, closeFn, err := f.controller(a, nil)
			if err != nil {
				return err
			}
			defer closeFn()
			return run(cmd, c)
		}
	}
	need := func(names ...string) error {
		for _, n := range names {
			if (n == "customer" && customer == "") || (n == "reason" && strings.TrimSpace(reason) == "") {
				return usageError{fmt.Errorf("--%s is required", n)}
			}
		}
		return nil
	}
	status := &cobra.Command{Use: "status", Short: "Every customer's state, or one's (--customer)", Args: cobra.NoArgs,
		RunE: withCtl(func(cmd *cobra.Command, c *cutover.Controller) error {
			var rs []cutover.Record
			if customer != "" {
				r, err := c.Status(cmd.Context(), customer)
				if err != nil {
					return usageIfUnknown(err)
				}
				rs = []cutover.Record{r}
			} else {
				var err error
				if rs, err = c.List(cmd.Context()); err != nil {
					return err
				}
			}
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CUSTOMER\tSTATE\tVERSION\tCHANGED")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Customer, r.State, r.Version, fmtTime(r.ChangedAt))
			}
			return tw.Flush()
		})}
	status.Flags().StringVar(&customer, "customer", "", "one customer")
	gates := &cobra.Command{Use: "gates", Short: "The gates of a customer's next advance: value, threshold, pass/fail", Args: cobra.NoArgs,
		RunE: withCtl(func(cmd *cobra.Command, c *cutover.Controller) error {
			if err := need("customer"); err != nil {
				return err
			}
			cur, to, gs, err := c.NextGates(cmd.Context(), customer)
			if err != nil {
				return usageIfUnknown(err)
			}
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"state": cur, "to": to, "pass": len(cutover.Failing(gs)) == 0, "gates": gs})
			}
			printGates(cmd.OutOrStdout(), fmt.Sprintf("%s: %s → %s", customer, cur.State, to), gs)
			if len(cutover.Failing(gs)) > 0 {
				return exitCode(exitFailure)
			}
			return nil
		})}
	gates.Flags().StringVar(&customer, "customer", "", "the customer (required)")
	move := func(action cutover.Action) *cobra.Command {
		short := "Move a customer one state forward if every gate passes (--force records the unmet gates' values)"
		if action == cutover.Rollback {
			short = "Move a customer one state back (no gates)"
		}
		mc := &cobra.Command{Use: string(action), Short: short, Args: cobra.NoArgs,
			RunE: withCtl(func(cmd *cobra.Command, c *cutover.Controller) error {
				if err := need("customer", "reason"); err != nil {
					return err
				}
				actor := "cli"
				if u := os.Getenv("USER"); u != "" {
					actor += ":" + u
				}
				req := cutover.Request{Customer: customer, Actor: actor, Reason: reason, From: cutover.State(from), Force: force}
				var rec cutover.Record
				var gs []cutover.Gate
				var err error
				if action == cutover.Advance {
					rec, gs, err = c.Advance(cmd.Context(), req)
				} else {
					rec, err = c.Rollback(cmd.Context(), req)
				}
				var ge *cutover.GateError
				if errors.As(err, &ge) {
					printGates(cmd.ErrOrStderr(), fmt.Sprintf("%s: %s → %s refused", customer, ge.From, ge.To), gs)
				}
				if err != nil {
					return usageIfUnknown(err)
				}
				if f.jsonOut {
					return printJSON(cmd.OutOrStdout(), map[string]any{"state": rec, "gates": gs})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: now %s (version %d)\n", customer, rec.State, rec.Version)
				return nil
			})}
		fl := mc.Flags()
		fl.StringVar(&customer, "customer", "", "the customer (required)")
		fl.StringVar(&reason, "reason", "", "why, recorded in the history (required)")
		fl.StringVar(&from, "from", "", "the state you expect the customer in; another one fails as a conflict without writing")
		if action == cutover.Advance {
			fl.BoolVar(&force, "force", false, "advance past unmet gates; their values are recorded with the reason")
		}
		return mc
	}
	history := &cobra.Command{Use: "history", Short: "A customer's transitions with actor, reason and evidence", Args: cobra.NoArgs,
		RunE: withCtl(func(cmd *cobra.Command, c *cutover.Controller) error {
			if err := need("customer"); err != nil {
				return err
			}
			if _, err := c.Status(cmd.Context(), customer); err != nil {
				return usageIfUnknown(err)
			}
			h, err := c.History(cmd.Context(), customer)
			if err != nil {
				return err
			}
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), h)
			}
			out := cmd.OutOrStdout()
			for _, e := range h {
				forced := ""
				if e.Forced {
					forced = " FORCED"
				}
				fmt.Fprintf(out, "v%d %s %s → %s by %s%s: %s\n", e.Version, e.At.Format(time.RFC3339), e.From, e.To, e.Actor, forced, e.Reason)
				for _, g := range e.Evidence {
					fmt.Fprintf(out, "    %s\n", g)
				}
			}
			if len(h) == 0 {
				fmt.Fprintf(out, "%s: no transitions (legacy)\n", customer)
			}
			return nil
		})}
	history.Flags().StringVar(&customer, "customer", "", "the customer (required)")
	cmd.AddCommand(status, gates, move(cutover.Advance), move(cutover.Rollback), history, newCutoverRunCmd(a, &f))
	return cmd
}

// newCutoverRunCmd is `brooks cutover run`: the controller (automatic
// rollback of live customers) and the admin HTTP API on a component
// runner, behind the admin tokens of api_tokens_file.
func newCutoverRunCmd(a *app, f *cutoverFlags) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The cutover controller: rolls back live customers whose evidence crosses a limit; admin API GET/POST /v1/cutover/customers/...",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tokens, err := a.tokens() // the runner asks an admin token of every /v1/cutover route
			if err != nil {
				return err
			}
			if tokens == nil {
				return usageError{errors.New("the cutover API changes who serves customers: give it api_tokens_file (--api-tokens-file; make an admin token with `brooks token new --admin`)")}
			}
			r, err := a.runner("cutover", "cutover_http", addr)
			if err != nil {
				return err
			}
			c, _, closeFn, err := f.controller(a, func(o *cutover.Options) { o.Registerer = r.Registry() })
			if err != nil {
				return err
			}
			r.OnStop(component.Ledger, "cutover store", func() error { closeFn(); return nil })
			for pattern, h := range cutover.Handlers(c) {
				r.Handle(pattern, h)
			}
			r.Go(component.Work, "cutover controller", c.Run)
			return r.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	o := &f.ctl
	fl.StringVar(&addr, "http-addr", "127.0.0.1:8093", "listen address for /v1/cutover/*, /metrics, /healthz, /readyz")
	fl.DurationVar(&o.Interval, "interval", o.Interval, "how often live customers are judged")
	fl.DurationVar(&o.RollbackWindow, "rollback-window", o.RollbackWindow, "sliding window of evidence judged (never before the customer went live)")
	fl.Float64Var(&o.MaxMismatchRate, "max-mismatch-rate", o.MaxMismatchRate, "share of settled comparisons mismatching that rolls a live customer back")
	fl.Float64Var(&o.MaxErrorRate, "max-error-rate", o.MaxErrorRate, "share of failed comparisons that rolls a live customer back")
	fl.IntVar(&o.RollbackMinComparisons, "rollback-min-comparisons", o.RollbackMinComparisons, "comparisons in the window before it is judged")
	fl.DurationVar(&o.HoldDown, "hold-down", o.HoldDown, "least time between two automatic moves of a customer")
	return cmd
}

func usageIfUnknown(err error) error {
	if errors.Is(err, cutover.ErrUnknownCustomer) {
		return usageError{err}
	}
	return err
}

func printGates(w io.Writer, title string, gs []cutover.Gate) {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  GATE\tVALUE\tTHRESHOLD\tRESULT\tDETAIL")
	for _, g := range gs {
		res := "FAIL"
		if g.Pass {
			res = "pass"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.Name, g.Value, g.Threshold, res, g.Detail)
	}
	tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
