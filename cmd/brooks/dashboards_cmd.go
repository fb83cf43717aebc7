package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/dashboards"
)

// newDashboardsCmd is `brooks dashboards`: customer analytics and the
// operator console in the browser (package dashboards). It reads only
// through the routing proxy and the admin APIs, with the signed-in user's
// token.
func newDashboardsCmd(a *app) *cobra.Command {
	o := dashboards.DefaultOptions()
	addr := dashboards.DefaultAddr
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Serve the customer analytics and the operator console (sign in with a proxy token)",
		Example: `  brooks token new --customer acme.example         # a customer's analytics
  brooks token new --admin                         # the operator console
  brooks dashboards --proxy-url http://127.0.0.1:8090   # then open http://127.0.0.1:8088`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			r, err := a.runner("dashboards", "dashboards_http", addr)
			if err != nil {
				return err
			}
			o.Customers, o.Logger, o.Registerer = customers, a.log, r.Registry()
			d, err := dashboards.New(o)
			if err != nil {
				return usageError{err}
			}
			if !d.AssetsBuilt() {
				return usageError{errors.New("dashboards assets are not in this binary: build it with `make build` (npm ci and esbuild)")}
			}
			d.Mount(r)
			a.log.Info("dashboards", "url", "http://"+addr, "proxy", o.ProxyURL, "cutover", o.CutoverURL, "admin", o.AdminURL, "raw", o.RawURL)
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", addr, "listen address of the dashboards, /metrics, /healthz and /readyz")
	f.StringVar(&o.ProxyURL, "proxy-url", o.ProxyURL, "the routing proxy (POST /v1/query, GET /v1/shadow/*)")
	f.StringVar(&o.CutoverURL, "cutover-url", o.CutoverURL, "the cutover controller's admin API (/v1/cutover/...)")
	f.StringVar(&o.AdminURL, "admin-url", o.AdminURL, "the audit's admin APIs, /v1/audit/runs and /v1/ledger/report (brooks audit serve)")
	f.StringVar(&o.RawURL, "raw-url", o.RawURL, "nextgen's query API for raw drill-down (GET /v1/raw), admin sessions only")
	f.DurationVar(&o.Refresh, "refresh", o.Refresh, "how often the real-time panel reloads itself")
	f.BoolVar(&o.SecureCookie, "secure-cookie", o.SecureCookie, "mark the session cookie Secure (serve behind TLS)")
	return cmd
}
