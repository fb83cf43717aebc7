package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/nextgen/api"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/nextgen/rawstore"
)

// The `brooks nextgen` parent and its nextgenSubcommands list are in
// nextgen_run_cmd.go.
func init() { nextgenSubcommands = append(nextgenSubcommands, newNextgenServeCmd) }

// newNextgenServeCmd is `brooks nextgen serve`: the query API. The logic
// is nextgen/api and nextgen/queryengine.
func newNextgenServeCmd(a *app) *cobra.Command {
	addr := api.DefaultAddr
	withRaw := true
	o := queryengine.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the query language over the Elasticsearch rollups (POST /v1/query) and raw drill-down from Cassandra (GET /v1/raw)",
		Example: `  brooks nextgen serve --http-addr 127.0.0.1:8082
  curl -s localhost:8082/v1/query -d '{"customer":"acme.example","metrics":["pageviews","visitors"],
    "from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"1d"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			es, err := esindex.Open(a.cfg.ElasticURL, a.cfg.IndexPrefix)
			if err != nil {
				return usageError{err}
			}
			r, err := a.runner("nextgen-serve", "nextgen_api", addr)
			if err != nil {
				return err
			}
			o.Customers, o.Logger, o.Registerer = customers, a.log, r.Registry()
			var raw *rawstore.Store
			if withRaw {
				ro, err := a.rawOptions()
				if err != nil {
					return usageError{err}
				}
				raw, err = rawstore.Open(a.cfg.CassandraHosts, a.cfg.Keyspace, ro)
				if err != nil {
					return fmt.Errorf("raw drill-down: %w (run `brooks migrate`, or --raw=false)", err)
				}
				defer raw.Close()
				o.Raw = raw
			}
			eng, err := queryengine.New(es, o)
			if err != nil {
				return usageError{err}
			}
			srv, err := api.New(eng, api.Options{Customers: customers, Registerer: r.Registry(), Logger: a.log})
			if err != nil {
				return err
			}
			srv.Mount(r)
			r.AddReadyCheck("elasticsearch", es.Ping)
			if raw != nil {
				r.AddReadyCheck("cassandra", raw.Ping)
			}
			a.log.Info("nextgen query api", "addr", addr, "elastic", a.cfg.ElasticURL, "index_prefix", a.cfg.IndexPrefix, "raw", withRaw)
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", addr, "listen address of the query API, /metrics, /healthz and /readyz")
	f.BoolVar(&withRaw, "raw", withRaw, "connect to Cassandra for GET /v1/raw drill-down")
	f.IntVar(&o.PageSize, "page-size", o.PageSize, "composite aggregation page size of the Elasticsearch searches")
	f.IntVar(&o.PrecisionThreshold, "precision-threshold", o.PrecisionThreshold,
		"cardinality precision threshold (1-40000): distinct counts up to it are near-exact (0.0122% error), above it HyperLogLog (3000: 0.81%, 40000: 0.20%); higher is slower on long series")
	f.IntVar(&o.MaxPoints, "max-points", o.MaxPoints, "largest answer in points (series x buckets); bigger queries get 422")
	f.DurationVar(&o.Timeout, "query-timeout", o.Timeout, "longest time one query may take")
	return cmd
}
