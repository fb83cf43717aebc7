// Package component is the one way a Brooks component runs: every
// long-running subcommand (collector, archive, legacy ingest and serve,
// nextgen run and serve) builds a Runner, adds its routes and workers, and
// calls Run.
//
// A Runner owns the Prometheus registry (Go and process collectors
// included) and one HTTP server on Options.Addr that serves:
//
//	GET /metrics   Prometheus text format
//	GET /healthz   200 "ok" while the process is up (liveness; no dependency checked)
//	GET /readyz    200 "ready" when every ready check passes; 503 naming the
//	               failing ones, and 503 "shutting down" once shutdown began
//
// plus the component's own routes. With Options.Auth (the hashed tokens of
// api_tokens_file, package internal/auth) the runner authenticates every
// route but /healthz, /readyz and those marked Public (the collector's
// tracker endpoints: browsers hold no secret): no or an unknown token
// answers 401 with WWW-Authenticate: Bearer. A route needs an admin token
// (403 for a customer's) unless it is marked PerCustomer: then any valid
// token passes and the handler authorizes, reading the principal the
// runner put in the request's context (auth.FromContext; a customer token
// reads only its customer). /metrics needs admin. Without Options.Auth the
// runner refuses to listen anywhere but loopback (ErrUnauthenticated),
// warns, and gives every request the auth.Loopback (admin) principal.
//
// Every route goes through one
// status-recording middleware: brooks_<subsystem>_requests_total{route,code}
// and brooks_<subsystem>_request_duration_seconds{route}.
//
// The server sets every timeout (DefaultOptions: read header 5 s, read 30 s,
// write 2 min, idle 2 min, 64 KiB of headers), so a slow or stuck client
// cannot hold a connection forever.
//
// Workers are Run(ctx) error functions in one of three phases. When the
// context given to Run ends, or any worker returns, the Runner stops
// things in this order, each step bounded by Options.ShutdownTimeout:
//
//  1. /readyz answers 503; intake routes (HandleIntake) answer 503 with
//     Retry-After and the requests already in flight finish;
//  2. Intake workers stop (what takes work in);
//  3. Work workers stop: the component flushes and commits;
//  4. Ledger workers stop: the ledger's last flush counts everything the
//     component finished;
//  5. the HTTP server shuts down last, so /metrics and /readyz stay
//     readable while the component drains.
//
// Run returns the first worker error (a worker that fails stops the
// component; it is never left half running), or nil after a clean stop.
//
// Usage:
//
//	r := component.New(component.Options{Name: "collector", Subsystem: "collector", Addr: addr, Logger: log})
//	c, _ := collector.New(collector.Options{Registerer: r.Registry(), ...})
//	r.HandleIntake(collector.PathPixel, "pixel", c)
//	r.AddReadyCheck("kafka", ping)
//	r.OnStop(component.Work, "kafka writer", writer.Close)
//	r.Go(component.Ledger, "ledger", recorder.Run)
//	err := r.Run(ctx)
package component
