package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gocql/gocql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/api"
	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/dist"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/rebuild"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/query"
)

// auditFlags are the flags replay, run and serve share.
type auditFlags struct {
	legacyURL, nextgenURL, now string
	settle                     time.Duration
	noRaw                      bool
}

func (f *auditFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.legacyURL, "legacy-url", "http://127.0.0.1:8081", "legacy's query API")
	fs.StringVar(&f.nextgenURL, "nextgen-url", "http://127.0.0.1:8082", "nextgen's query API")
	fs.StringVar(&f.now, "now", "", "the audit's clock, RFC 3339 (default: the wall clock); decides what is settled")
	fs.DurationVar(&f.settle, "settle", 10*time.Minute, "a bucket (or hour) is judged once it ended this long ago")
	fs.BoolVar(&f.noRaw, "no-raw-store", false, "do not compare the archive with nextgen's raw store")
}

func (f *auditFlags) clock() (time.Time, error) {
	if f.now == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, f.now)
	if err != nil {
		return t, usageError{fmt.Errorf("--now %q: want RFC 3339", f.now)}
	}
	return t.UTC(), nil
}

// replayOptions builds replay options from the configuration and flags;
// done closes what it opened.
func (a *app) replayOptions(f *auditFlags, what string) (o replay.Options, done func(), err error) {
	customers, err := a.customers()
	if err != nil {
		return o, nil, usageError{err}
	}
	sink, err := archive.NewLocal(a.cfg.Archive())
	if err != nil {
		return o, nil, err
	}
	o = replay.DefaultOptions()
	o.Sink, o.Customers, o.SettleDelay, o.Logger = sink, customers, f.settle, a.log
	if o.Now, err = f.clock(); err != nil {
		return o, nil, err
	}
	o.Legacy, o.Nextgen = query.NewClient(f.legacyURL, clientOptions()...), query.NewClient(f.nextgenURL, clientOptions()...)
	o.Progress = replay.NewProgress(os.Stderr, a.log, what, 5*time.Second)
	done = func() {}
	if !f.noRaw {
		ro, err := a.rawOptions()
		if err != nil {
			return o, nil, usageError{err}
		}
		raw, err := rawstore.Open(a.cfg.CassandraHosts, a.cfg.Keyspace, ro)
		if err != nil {
			return o, nil, fmt.Errorf("raw store: %w (or pass --no-raw-store)", err)
		}
		o.Raw, done = raw, raw.Close
	}
	return o, done, nil
}

// newAuditCmd is `brooks audit`: replay, rebuild, certificates.
func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Replay the raw-log archive to ground truth, judge both systems, rebuild nextgen, certify customer-days",
	}
	cmd.AddCommand(newAuditReplayCmd(a), newAuditRebuildCmd(a), newAuditCertificateCmd(a), newAuditRunCmd(a), newAuditServeCmd(a), newAuditWorkerCmd(a))
	return cmd
}

func newAuditReplayCmd(a *app) *cobra.Command {
	var f auditFlags
	var customer, from, to, format, cells, taskTopic string
	var maxCells int
	var distributed bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Replay a customer's archive to ground truth and judge legacy and nextgen per bucket, key and metric",
		Long: `replay reads the archive parts of the period, refuses any part that does not
match its manifest (naming it; the rest is still judged), counts every event
once per eid, aggregates with rollup (the stream engine's code) at 5m and 1d,
asks legacy and nextgen the same questions and compares each with the truth
through diff. Every cell gets a verdict: both right, legacy wrong, nextgen
wrong, both wrong or unsettled. It also compares the archive with nextgen's
raw store hour by hour. See audit/README.md.
Exit code: 0 clean, 1 a settled fault (or a refused part), 2 usage error,
3 inconclusive (nothing settled was compared, or a system did not answer).`,
		Example: `  brooks audit replay --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z
  brooks audit replay --customer acme.example --from 6h --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			if cells != "all" && cells != "faults" {
				return usageError{fmt.Errorf("--cells %q: want all or faults", cells)}
			}
			o, done, err := a.replayOptions(&f, "replay "+customer)
			if err != nil {
				return err
			}
			defer done()
			fromT, toT, err := period(from, to, o.Now)
			if err != nil {
				return usageError{err}
			}
			var rep *replay.Report
			if distributed {
				session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
				if err != nil {
					return fmt.Errorf("cassandra: %w (did `brooks migrate` run?)", err)
				}
				defer session.Close()
				rep, err = dist.Replay(cmd.Context(), dist.ReplayOptions{Replay: o, Brokers: a.cfg.KafkaBrokers, Topic: taskTopic,
					Results: dist.NewResults(session, a.cfg.Keyspace), Wait: wait}, customer, fromT, toT)
				if err != nil {
					return err
				}
			} else if rep, err = replay.Run(cmd.Context(), o, customer, fromT, toT); err != nil {
				return err
			}
			if cells == "faults" {
				rep.KeepFaults()
			}
			if format == "json" {
				err = rep.JSON(cmd.OutOrStdout())
			} else {
				err = rep.Text(cmd.OutOrStdout(), maxCells)
			}
			if err != nil {
				return err
			}
			return exitWith(rep.ExitCode)
		},
	}
	f.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&customer, "customer", "", "customer id (required)")
	fs.StringVar(&from, "from", "24h", "start, RFC 3339 or a duration ago")
	fs.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: now)")
	fs.StringVar(&format, "format", "text", "output format: text or json (one brooks.audit/v1 document)")
	fs.IntVar(&maxCells, "max-cells", 50, "wrong cells listed in the text report (0: all)")
	fs.BoolVar(&distributed, "distributed", false, "split the scope into hour tasks for `brooks audit worker` processes (Kafka topic --task-topic) and merge their results")
	fs.StringVar(&taskTopic, "task-topic", dist.DefaultTopic, "Kafka topic of distributed replay tasks")
	fs.DurationVar(&wait, "wait", 10*time.Minute, "how long a distributed replay waits for every hour's result")
	fs.StringVar(&cells, "cells", "all", "cells in the JSON report: all, or faults (every verdict but both right; counts keep them all)")
	return cmd
}

// exitWith is the error that makes a command exit with code (nil for 0).
func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return exitCode(code)
}

func newAuditRebuildCmd(a *app) *cobra.Command {
	var customer, from, to, nowFlag, group string
	var rateFlag float64
	var settle time.Duration
	var noEngineCheck, noRaw bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild nextgen's rollup documents (and missing raw rows) of a customer and period from the archive",
		Long: `rebuild rolls the archive of the period up again with the stream engine's code
and writes nextgen's 5-minute and daily documents where they differ, on the
token it read, with the archive's offset watermark; it is idempotent, safe
while the engine runs (see audit/rebuild's package doc), resumable after a
kill (checkpoints in Cassandra) and throttled by --rate. Raw-store rows the
archive has and Cassandra lacks are put back.`,
		Example: `  brooks audit rebuild --customer acme.example --from 2026-11-25T00:00:00Z --to 2026-11-26T00:00:00Z --rate 20000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			if rateFlag < 0 {
				return usageError{fmt.Errorf("--rate %v: want events per second, 0 for no cap", rateFlag)}
			}
			f := auditFlags{now: nowFlag}
			now, err := f.clock()
			if err != nil {
				return err
			}
			fromT, toT, err := period(from, to, now)
			if err != nil {
				return usageError{err}
			}
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			sink, err := archive.NewLocal(a.cfg.Archive())
			if err != nil {
				return err
			}
			es, err := esindex.Open(a.cfg.ElasticURL, a.cfg.IndexPrefix)
			if err != nil {
				return usageError{err}
			}
			session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return fmt.Errorf("cassandra: %w (did `brooks migrate` run?)", err)
			}
			defer session.Close()
			o := rebuild.DefaultOptions()
			o.Sink, o.Customers, o.ES, o.Rate, o.Now, o.Settle, o.Logger = sink, customers, es, rateFlag, now, settle, a.log
			o.Checkpoints = rebuild.NewCheckpointStore(session, a.cfg.Keyspace)
			o.Progress = replay.NewProgress(os.Stderr, a.log, "rebuild "+customer, 5*time.Second)
			if !noEngineCheck {
				o.Committed = rebuild.KafkaCommitted(a.cfg.KafkaBrokers, group, a.cfg.Topic)
			}
			if !noRaw {
				ro, err := a.rawOptions()
				if err != nil {
					return usageError{err}
				}
				raw, err := rawstore.Open(a.cfg.CassandraHosts, a.cfg.Keyspace, ro)
				if err != nil {
					return err
				}
				defer raw.Close()
				o.Raw = raw
			}
			res, err := rebuild.Run(cmd.Context(), o, customer, fromT, toT)
			if res != nil {
				if werr := writeJSON(cmd.OutOrStdout(), res); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			if len(res.Refused) > 0 || res.Behind > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&customer, "customer", "", "customer id (required)")
	fs.StringVar(&from, "from", "24h", "start, RFC 3339 or a duration ago (widened to the hour)")
	fs.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or a duration ago (default: now)")
	fs.Float64Var(&rateFlag, "rate", 0, "archive events read per second at most (0: no cap)")
	fs.DurationVar(&settle, "settle", 15*time.Minute, "rebuild an hour only once it ended this long ago")
	fs.StringVar(&nowFlag, "now", "", "the rebuild's clock, RFC 3339 (default: the wall clock)")
	fs.StringVar(&group, "engine-group", engine.DefaultGroup, "the live engine's consumer group: a document is written only once it committed past the document's watermark")
	fs.BoolVar(&noEngineCheck, "no-engine-check", false, "do not read the engine's committed offsets (only when no engine consumes the topic)")
	fs.BoolVar(&noRaw, "no-raw-store", false, "do not put back missing raw-store rows")
	return cmd
}

// certStore opens the certificate store; close ends its session.
func (a *app) certStore() (*certify.Store, *gocql.Session, error) {
	session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
	if err != nil {
		return nil, nil, fmt.Errorf("cassandra: %w (did `brooks migrate` run?)", err)
	}
	return certify.NewStore(session, a.cfg.Keyspace), session, nil
}

func newAuditCertificateCmd(a *app) *cobra.Command {
	var customer, day, format string
	cmd := &cobra.Command{
		Use:     "certificate",
		Short:   "Print the audit certificate of a customer and UTC day (and check its digest)",
		Example: `  brooks audit certificate --customer acme.example --day 2026-11-25 --format json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return usageError{fmt.Errorf("--customer is required")}
			}
			d := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
			if day != "" {
				t, err := time.Parse(certify.DayLayout, day)
				if err != nil {
					return usageError{fmt.Errorf("--day %q: want YYYY-MM-DD", day)}
				}
				d = t
			}
			store, session, err := a.certStore()
			if err != nil {
				return err
			}
			defer session.Close()
			c, err := store.Get(cmd.Context(), customer, d)
			if err != nil {
				return err
			}
			if format == "json" {
				err = c.JSON(cmd.OutOrStdout())
			} else {
				err = c.Text(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !c.Clean {
				return exitCode(1)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&customer, "customer", "", "customer id (required)")
	fs.StringVar(&day, "day", "", "UTC day, YYYY-MM-DD (default: yesterday)")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// runFlags are audit run's and serve's.
type runFlags struct {
	auditFlags
	since, daySettle time.Duration
	customers        []string
	force            bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	f.auditFlags.register(cmd)
	fs := cmd.Flags()
	fs.DurationVar(&f.since, "since", 48*time.Hour, "certify the settled UTC days of this last period")
	fs.DurationVar(&f.daySettle, "day-settle", time.Hour, "a day is certified once it ended this long ago")
	fs.StringSliceVar(&f.customers, "customers", nil, "customers to certify (default: every customer)")
	fs.BoolVar(&f.force, "force", false, "certify again days that already have a clean certificate")
}

// certifyOnce runs one certification round.
func (a *app) certifyOnce(ctx context.Context, f *runFlags) ([]certify.Issued, error) {
	ro, done, err := a.replayOptions(&f.auditFlags, "certify")
	if err != nil {
		return nil, err
	}
	defer done()
	store, session, err := a.certStore()
	if err != nil {
		return nil, err
	}
	defer session.Close()
	custs := f.customers
	if len(custs) == 0 {
		custs = ro.Customers.IDs()
	}
	o := certify.RunOptions{
		Options: certify.Options{Replay: ro, Ledger: ledger.NewStore(session, a.cfg.Keyspace), Version: version},
		Store:   store, Customers: custs, Since: f.since, Settle: f.daySettle, Force: f.force, Logger: a.log,
	}
	return certify.Run(ctx, o)
}

func newAuditRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:     "run",
		Short:   "Certify every settled customer-day of a period that has no clean certificate yet",
		Example: `  brooks audit run --since 2d`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			issued, err := a.certifyOnce(cmd.Context(), &f)
			if issued != nil {
				if werr := writeJSON(cmd.OutOrStdout(), issued); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			for _, is := range issued {
				if is.Action == "failed" || (is.Action == "issued" && !is.Clean) {
					return exitCode(1)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newAuditServeCmd(a *app) *cobra.Command {
	var f runFlags
	var addr string
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run `audit run` on a schedule; serve the admin API (GET /v1/ledger/report, /v1/audit/runs), /metrics (api_tokens_file applies), /healthz and /readyz",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every <= 0 {
				return usageError{fmt.Errorf("--interval %s: want a positive duration", every)}
			}
			r, err := a.runner("audit serve", "audit", addr)
			if err != nil {
				return err
			}
			reg := r.Registry()
			rounds := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit", Name: "certify_rounds_total",
				Help: "Certification rounds by result (ok, error)."}, []string{"result"})
			issuedC := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit", Name: "certificates_total",
				Help: "Customer-days looked at, by action (issued, skipped, failed) and clean."}, []string{"action", "clean"})
			reg.MustRegister(rounds, issuedC)
			// The admin API (GET /v1/ledger/report, /v1/audit/runs): the
			// runner asks an admin token of every route.
			session, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return fmt.Errorf("cassandra: %w (did `brooks migrate` run?)", err)
			}
			defer session.Close()
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			ao := api.DefaultOptions()
			ao.Ledger, ao.Certificates, ao.Customers = ledger.NewStore(session, a.cfg.Keyspace), certify.NewStore(session, a.cfg.Keyspace), customers
			ao.ArchiveRoot, ao.Grace, ao.Logger = a.cfg.Archive(), f.settle, a.log
			routes, err := api.Handlers(ao)
			if err != nil {
				return err
			}
			for pattern, h := range routes {
				r.Handle(pattern, h)
			}
			r.Go(component.Work, "certifier", func(ctx context.Context) error {
				// A failed round (Cassandra or a query API down) is retried
				// with capped exponential backoff and jitter, never exits.
				const minBackoff, maxBackoff = 10 * time.Second, 5 * time.Minute
				backoff := minBackoff
				for {
					issued, err := a.certifyOnce(ctx, &f)
					if ctx.Err() != nil {
						return nil
					}
					wait := every
					if err != nil {
						rounds.WithLabelValues("error").Inc()
						wait = min(every, backoff/2+time.Duration(rand.Int64N(int64(backoff/2)+1)))
						backoff = min(2*backoff, maxBackoff)
						a.log.Warn("certification round failed; retrying", "err", err, "in", wait.Round(time.Second).String())
					} else {
						rounds.WithLabelValues("ok").Inc()
						backoff = minBackoff
					}
					for _, is := range issued {
						issuedC.WithLabelValues(is.Action, fmt.Sprint(is.Clean)).Inc()
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(wait):
					}
				}
			})
			return r.Run(cmd.Context())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:9185", "address of the admin API, /metrics, /healthz and /readyz")
	cmd.Flags().DurationVar(&every, "interval", time.Hour, "time between certification rounds")
	return cmd
}

// auditMigrate creates the audit's Cassandra tables (after the ledger's
// step created the keyspace).
func auditMigrate(ctx context.Context, a *app) error {
	s, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := certify.Migrate(ctx, s, a.cfg.Keyspace); err != nil {
		return err
	}
	if err := dist.MigrateResults(ctx, s, a.cfg.Keyspace); err != nil {
		return err
	}
	return rebuild.MigrateCheckpoints(ctx, s, a.cfg.Keyspace)
}

func newAuditWorkerCmd(a *app) *cobra.Command {
	var addr, topic, group string
	var noRaw bool
	var session time.Duration
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Take distributed replay tasks (customer, hour) from Kafka and store their results",
		Long: `worker joins the consumer group of the task topic (shadow/tee's consumer):
each task is one customer-hour of a ` + "`brooks audit replay --distributed`" + `; the
worker replays it from the archive as the replay does, compares it with the
raw store, stores the result in Cassandra (audit_tasks) and only then marks
the task done. A killed worker's tasks go to the others; a task done twice
overwrites its own result. See audit/dist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			sink, err := archive.NewLocal(a.cfg.Archive())
			if err != nil {
				return err
			}
			s, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return fmt.Errorf("cassandra: %w (did brooks migrate run?)", err)
			}
			defer s.Close()
			r, err := a.runner("audit worker", "audit_worker", addr)
			if err != nil {
				return err
			}
			o := dist.WorkerOptions{Brokers: a.cfg.KafkaBrokers, Topic: topic, Group: group, Sink: sink, Customers: customers,
				Results: dist.NewResults(s, a.cfg.Keyspace), SessionTimeout: session, Logger: a.log, Registerer: r.Registry()}
			if !noRaw {
				ro, err := a.rawOptions()
				if err != nil {
					return usageError{err}
				}
				raw, err := rawstore.Open(a.cfg.CassandraHosts, a.cfg.Keyspace, ro)
				if err != nil {
					return err
				}
				defer raw.Close()
				o.Raw = raw
			}
			w, err := dist.NewWorker(o)
			if err != nil {
				return usageError{err}
			}
			a.kafkaReady(r)
			r.AddReadyCheck("consumer_group", w.Ready)
			r.Go(component.Work, "audit worker", w.Run)
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "http-addr", "127.0.0.1:9186", "listen address for /metrics, /healthz and /readyz")
	f.StringVar(&topic, "task-topic", dist.DefaultTopic, "Kafka topic of distributed replay tasks")
	f.StringVar(&group, "group", dist.DefaultGroup, "the workers' consumer group")
	f.DurationVar(&session, "session-timeout", 10*time.Second, "consumer-group session timeout (how soon a dead worker's tasks move)")
	f.BoolVar(&noRaw, "no-raw-store", false, "do not compare the archive with nextgen's raw store")
	return cmd
}
