package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/shadow/collector"
)

func newCollectorCmd(a *app) *cobra.Command {
	var addr string
	var withLedger bool
	var ledgerEvery, writeTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "collector",
		Short: "Accept Snowplow tracker pixels (GET /i, POST tp2) and write them durably to the Kafka raw-pixel topic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			customers, err := a.customers()
			if err != nil {
				return usageError{err}
			}
			r, err := a.runner("collector", "collector", addr)
			if err != nil {
				return err
			}
			o := collector.Options{Customers: customers, WriteTimeout: writeTimeout}
			if withLedger {
				o.Ledger = a.ledgerRecorder(r, ledger.StageCollector, "collector", ledgerEvery)
			}
			if _, err := collector.Register(r, o, collector.NewWriter(a.cfg.KafkaBrokers, a.cfg.Topic), a.cfg.KafkaBrokers); err != nil {
				return usageError{err}
			}
			a.log.Info("collector starting", "addr", addr, "topic", a.cfg.Topic, "customers", len(customers.IDs()))
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:8080", "listen address for trackers, /metrics, /healthz and /readyz")
	ledgerFlags(cmd.Flags(), &withLedger, &ledgerEvery, "acknowledged events")
	cmd.Flags().DurationVar(&writeTimeout, "kafka-timeout", 10*time.Second, "how long a request waits for Kafka before answering 503")
	return cmd
}
