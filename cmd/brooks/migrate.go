package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/shadow/tee"
)

// migration creates one subsystem's topics, tables, indexes or templates,
// idempotently.
type migration struct {
	name string
	run  func(ctx context.Context, a *app) error
}

// migrations lists every subsystem's schema step, in order.
func migrations() []migration {
	return []migration{
		{"kafka raw-pixel topic", func(ctx context.Context, a *app) error {
			return tee.Topic{Brokers: a.cfg.KafkaBrokers, Name: a.cfg.Topic, Partitions: a.cfg.TopicPartitions}.Ensure(ctx)
		}},
		{"cassandra ledger table", func(ctx context.Context, a *app) error {
			if err := cass.EnsureKeyspace(ctx, a.cfg.CassandraHosts, a.cfg.Keyspace, a.cfg.CassandraRF); err != nil {
				return err
			}
			s, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return err
			}
			defer s.Close()
			return ledger.Migrate(ctx, s, a.cfg.Keyspace)
		}},
		{"cassandra audit tables (certificates, rebuild checkpoints, worker results)", auditMigrate},
		{"nextgen cassandra raw events and elasticsearch templates", func(ctx context.Context, a *app) error {
			return nextgenMigrate(ctx, a)
		}},
		{"legacy mongo indexes", func(ctx context.Context, a *app) error {
			return legacy.Migrate(ctx, a.cfg.MongoURI, a.cfg.MongoDatabase)
		}},
	}
}

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the Kafka topic, Cassandra tables, Elasticsearch templates and Mongo indexes (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, m := range migrations() {
				if err := m.run(cmd.Context(), a); err != nil {
					return fmt.Errorf("migrate %s: %w", m.name, err)
				}
				a.log.Info("migrated", "step", m.name)
			}
			return nil
		},
	}
}
