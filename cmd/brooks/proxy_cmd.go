package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
	"github.com/brooksdata/brooks/shadow/proxy"
)

// proxyFiles are the files `brooks proxy` and `brooks shadow` read.
type proxyFiles struct {
	cutover, rules, states string
	poll                   time.Duration
}

func (f *proxyFiles) register(cmd *cobra.Command, a *app) {
	cmd.PersistentFlags().StringVar(&f.states, "states", "cassandra", "where the cutover states come from: cassandra (brooks cutover, polled) or file (--cutover-file)")
	cmd.PersistentFlags().DurationVar(&f.poll, "states-poll", cutover.DefaultPoll, "with --states cassandra: how often the states are re-read")
	cmd.PersistentFlags().StringVar(&f.cutover, "cutover-file", "deploy/local/cutover.yaml", "with --states file: per-customer cutover states (legacy, shadow, live, complete); relative to the Brooks root")
	cmd.PersistentFlags().StringVar(&f.rules, "rules-file", "deploy/rules/expected-differences.yaml", "expected-difference rules and tolerances for diff; relative to the Brooks root")
}

// rooted resolves a relative path against the Brooks root, as the
// configuration's own paths are, so a command run from another folder
// reads the same files.
func (a *app) rooted(path string) string {
	if path == "" || filepath.IsAbs(path) || a.cfg.Root == "" {
		return path
	}
	return filepath.Join(a.cfg.Root, path)
}

// newProxyCmd is `brooks proxy`: the routing proxy with the shadow
// comparer (shadow/proxy, shadow/compare); it needs api_tokens_file.
func newProxyCmd(a *app) *cobra.Command {
	po := proxy.DefaultOptions()
	co := compare.DefaultOptions()
	var files proxyFiles
	withCompare := true
	ttl := evidence.DefaultOptions().TTL
	var perCustomer map[string]string
	var addr string
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Routing proxy: serves each customer from its cutover state's system, shadow-compares the other (POST /v1/query)",
		Example: `  export BROOKS_API_TOKENS_FILE=$BROOKS_STATE/tokens.yaml
  brooks token new --customer acme.example   # prints a token once
  brooks proxy &
  curl -s -H "Authorization: Bearer $TOKEN" localhost:8090/v1/query -d '{"customer":"acme.example",...}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			tokens, err := a.tokens() // the runner authenticates with them too
			if err != nil {
				return err
			}
			if tokens == nil {
				return usageError{errors.New("the proxy serves customers' data: give it api_tokens_file (--api-tokens-file; make tokens with `brooks token new`)")}
			}
			var states proxy.StateSource
			switch files.states {
			case "cassandra":
				// Connects lazily: until the first good read, State fails
				// (and the proxy answers as for a failed state read).
				session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
				if err != nil {
					return fmt.Errorf("cutover states: %w (run `bin/brooks migrate`, or --states file)", err)
				}
				defer session.Close()
				states = cutover.NewPolled(cutover.NewStore(session, a.cfg.Keyspace), files.poll, a.log)
			case "file":
				fs, err := cutover.LoadFile(a.rooted(files.cutover))
				if err != nil {
					return usageError{err}
				}
				states = fs
			default:
				return usageError{fmt.Errorf("--states %q: want cassandra or file", files.states)}
			}
			rules, err := diff.LoadConfig(a.rooted(files.rules))
			if err != nil {
				return usageError{fmt.Errorf("--rules-file: %w", err)}
			}
			co.Sampling = map[string]float64{}
			for c, v := range perCustomer {
				r, err := strconv.ParseFloat(v, 64)
				if err != nil || r < 0 || r > 1 {
					return usageError{fmt.Errorf("--sampling-customer %s=%s: want a fraction from 0 to 1", c, v)}
				}
				co.Sampling[c] = r
			}
			r, err := a.runner("proxy", "proxy_http", addr)
			if err != nil {
				return err
			}
			po.States, po.Tokens, po.Customers, po.Registerer, po.Logger = states, tokens, customers, r.Registry(), a.log
			if withCompare {
				// The evidence store connects lazily: the proxy serves
				// while Cassandra is down; comparisons fail and are counted.
				session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
				if err != nil {
					return fmt.Errorf("evidence store: %w (run `bin/brooks migrate`, or --compare=false)", err)
				}
				r.OnStop(component.Ledger, "evidence store", func() error { session.Close(); return nil })
				store := evidence.NewStore(session, a.cfg.Keyspace, evidence.Options{TTL: ttl})
				co.Legacy, co.Nextgen = query.NewClient(po.LegacyURL, clientOptions()...), query.NewClient(po.NextgenURL, clientOptions()...)
				co.States, co.Customers, co.Store = states, customers.IDs(), store
				co.Rules, co.Tolerances, co.Registerer, co.Logger = rules.Rules, rules.Tolerances, r.Registry(), a.log
				comparer, err := compare.New(co)
				if err != nil {
					return usageError{err}
				}
				po.Comparer = comparer
				po.Handlers = evidence.Handlers(store, evidence.SummaryOptions{Shapes: matrix.SyntheticIDs(), Rules: rules.Rules}, nil)
				r.Go(component.Work, "comparer", comparer.Run)
			}
			p, err := proxy.New(po)
			if err != nil {
				return usageError{err}
			}
			p.Mount(r)
			return r.Run(cmd.Context())
		},
	}
	files.register(cmd, a)
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", proxy.DefaultAddr, "listen address for POST /v1/query, GET /v1/shadow/*, /metrics, /healthz, /readyz")
	f.StringVar(&po.LegacyURL, "legacy-url", po.LegacyURL, "legacy query API")
	f.StringVar(&po.NextgenURL, "nextgen-url", po.NextgenURL, "nextgen query API")
	f.DurationVar(&po.Timeout, "timeout", po.Timeout, "longest the serving system may take before the fallback answers")
	f.BoolVar(&withCompare, "compare", withCompare, "run the shadow comparer (needs Cassandra for the evidence)")
	f.Float64Var(&co.DefaultSampling, "sampling", co.DefaultSampling, "fraction of served answers compared (0..1)")
	f.StringToStringVar(&perCustomer, "sampling-customer", nil, "per-customer sampling, e.g. acme.example=0.1,globex.example=1")
	f.IntVar(&co.QueueSize, "queue-size", co.QueueSize, "comparisons waiting at most; more are dropped and counted")
	f.IntVar(&co.Workers, "workers", co.Workers, "comparisons in flight")
	f.DurationVar(&co.Pace, "pace", co.Pace, "interval between synthetic matrix queries (negative: none)")
	f.DurationVar(&co.SettleDelay, "settle", co.SettleDelay, "a bucket is compared once it ended this long ago")
	f.DurationVar(&ttl, "evidence-ttl", ttl, "how long evidence rows are kept")
	return cmd
}
