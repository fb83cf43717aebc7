package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/shadow/tee"
)

// runnerGrace is how much longer than --shutdown-timeout the runner waits
// for a shutdown step: the components bound their own last flush and commit
// by --shutdown-timeout, and the runner must not give up on them first.
const runnerGrace = 10 * time.Second

// runner returns the component runner a long-running subcommand serves
// and stops with: /metrics, /healthz, /readyz on addr, request metrics
// under brooks_<subsystem>_, the hashed tokens of api_tokens_file (none:
// loopback only), the command's logger.
func (a *app) runner(name, subsystem, addr string) (*component.Runner, error) {
	o := component.DefaultOptions()
	o.Name, o.Subsystem, o.Addr, o.Logger = name, subsystem, addr, a.log
	o.ShutdownTimeout = a.cfg.ShutdownTimeout + runnerGrace
	toks, err := a.tokens()
	if err != nil {
		return nil, err
	}
	if toks != nil { // a nil *auth.Tokens in the interface would not be nil
		o.Auth = toks
	}
	return component.New(o), nil
}

// tokens is the token store of api_tokens_file, loaded once (it re-reads
// the file when it changes); nil when the key is empty.
func (a *app) tokens() (*auth.Tokens, error) {
	if a.cfg.APITokensFile == "" {
		return nil, nil
	}
	if a.toks == nil {
		t, err := auth.Load(a.cfg.APITokensFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("api_tokens_file: %w", err)}
		}
		a.toks = t
	}
	return a.toks, nil
}

// kafkaReady makes r's /readyz depend on the configured brokers.
func (a *app) kafkaReady(r *component.Runner) {
	r.AddReadyCheck("kafka", func(ctx context.Context) error { return tee.Ping(ctx, a.cfg.KafkaBrokers) })
}

// ledgerStore is the ledger's Cassandra store for a component: it connects
// on first use and again after a failure, so no component needs Cassandra
// to start; it is closed after the Ledger phase stopped.
func (a *app) ledgerStore(r *component.Runner) *ledger.Lazy {
	store := ledger.NewLazy(a.cfg.CassandraHosts, a.cfg.Keyspace)
	r.OnStop(component.Ledger, "ledger store", func() error { store.Close(); return nil })
	return store
}

// ledgerRecorder counts a stage in the ledger: the returned accumulator
// takes the component's tallies, a recorder flushes them every interval
// and a last time after every Work worker stopped (its counts then include
// everything the component committed).
func (a *app) ledgerRecorder(r *component.Runner, stage, writer string, every time.Duration) *ledger.Accumulator {
	store := ledger.NewLazy(a.cfg.CassandraHosts, a.cfg.Keyspace)
	acc := ledger.NewAccumulator()
	rec := &ledger.Recorder{Acc: acc, Store: store, Stage: stage, Writer: ledger.WriterID(writer), Interval: every, Logger: a.log}
	r.Go(component.Ledger, "ledger recorder", func(ctx context.Context) error {
		defer store.Close()
		return rec.Run(ctx)
	})
	return acc
}

// ledgerFlags are the --ledger and --ledger-interval flags of a component
// that records a stage.
func ledgerFlags(f *pflag.FlagSet, on *bool, every *time.Duration, what string) {
	f.BoolVar(on, "ledger", true, "record per customer/hour counts and hashes of "+what+" in the Cassandra ledger (connects lazily: Cassandra may be down at start)")
	f.DurationVar(every, "ledger-interval", 5*time.Second, "how often the ledger is flushed")
}
