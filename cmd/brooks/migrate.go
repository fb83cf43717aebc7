package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/tee"
)

// migration creates one subsystem's topics, tables, indexes or templates,
// idempotently; snapshot describes what exists, so migrate can say whether
// the step changed anything.
type migration struct {
	name     string
	run      func(ctx context.Context, a *app) error
	snapshot func(ctx context.Context, a *app) string
}

// migrations lists every subsystem's schema step, in order.
func migrations() []migration {
	return []migration{
		{"kafka raw-pixel topic", func(ctx context.Context, a *app) error {
			return tee.Topic{Brokers: a.cfg.KafkaBrokers, Name: a.cfg.Topic, Partitions: a.cfg.TopicPartitions}.Ensure(ctx)
		}, snapshotTopic},
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
		}, snapshotKeyspace},
		{"cassandra audit tables (certificates, rebuild checkpoints, worker results)", auditMigrate, snapshotKeyspace},
		{"nextgen cassandra raw events and elasticsearch templates", func(ctx context.Context, a *app) error {
			return nextgenMigrate(ctx, a)
		}, func(ctx context.Context, a *app) string { return snapshotKeyspace(ctx, a) + snapshotTemplates(ctx, a) }},
		{"shadow evidence tables", func(ctx context.Context, a *app) error {
			s, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return err
			}
			defer s.Close()
			return evidence.Migrate(ctx, s, a.cfg.Keyspace)
		}, snapshotKeyspace},
		{"cutover states table", func(ctx context.Context, a *app) error {
			s, err := cass.Connect(a.cfg.CassandraHosts, a.cfg.Keyspace)
			if err != nil {
				return err
			}
			defer s.Close()
			return cutover.Migrate(ctx, s, a.cfg.Keyspace)
		}, snapshotKeyspace},
		{"legacy mongo indexes", func(ctx context.Context, a *app) error {
			return legacy.Migrate(ctx, a.cfg.MongoURI, a.cfg.MongoDatabase)
		}, snapshotMongo},
	}
}

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the Kafka topic, Cassandra tables, Elasticsearch templates and Mongo indexes (idempotent)",
		Long: `migrate creates what is missing and changes nothing else; it says, per
step, whether it changed anything, and "up to date" when nothing changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var changed []string
			for _, m := range migrations() {
				before := m.snapshot(ctx, a)
				if err := m.run(ctx, a); err != nil {
					return fmt.Errorf("migrate %s: %w", m.name, err)
				}
				if after := m.snapshot(ctx, a); before != after || before == "" {
					changed = append(changed, m.name)
					a.log.Info("migrated", "step", m.name)
				} else {
					a.log.Info("up to date", "step", m.name)
				}
			}
			out := cmd.OutOrStdout()
			if len(changed) == 0 {
				fmt.Fprintln(out, "migrate: up to date (nothing changed)")
				return nil
			}
			fmt.Fprintf(out, "migrate: changed %s\n", strings.Join(changed, "; "))
			return nil
		},
	}
}

// The snapshots describe a step's schema as text; "" means it could not
// be read (then the step counts as changed: never claim "up to date"
// without having looked).

func snapshotTopic(ctx context.Context, a *app) string {
	client := &kafka.Client{Addr: kafka.TCP(a.cfg.KafkaBrokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{a.cfg.Topic}})
	if err != nil || len(md.Topics) == 0 || md.Topics[0].Error != nil {
		return ""
	}
	return fmt.Sprintf("topic %s: %d partitions", a.cfg.Topic, len(md.Topics[0].Partitions))
}

func snapshotKeyspace(ctx context.Context, a *app) string {
	s, err := cass.Connect(a.cfg.CassandraHosts, "")
	if err != nil {
		return ""
	}
	defer s.Close()
	iter := s.Query(`SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = ?`, a.cfg.Keyspace).WithContext(ctx).Iter()
	var rows []string
	var tbl, col, typ string
	for iter.Scan(&tbl, &col, &typ) {
		rows = append(rows, tbl+"."+col+" "+typ)
	}
	if err := iter.Close(); err != nil || len(rows) == 0 {
		return ""
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n") + "\n"
}

func snapshotTemplates(ctx context.Context, a *app) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.cfg.ElasticURL, "/")+"/_index_template/"+a.cfg.IndexPrefix+"-*", nil)
	if err != nil {
		return ""
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

func snapshotMongo(ctx context.Context, a *app) string {
	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(a.cfg.MongoURI).SetTimeout(10*time.Second))
	if err != nil {
		return ""
	}
	defer mc.Disconnect(context.WithoutCancel(ctx))
	db := mc.Database(a.cfg.MongoDatabase)
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return ""
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		cur, err := db.Collection(n).Indexes().List(ctx)
		if err != nil {
			return ""
		}
		var idx []bson.M
		if err := cur.All(ctx, &idx); err != nil {
			return ""
		}
		var keys []string
		for _, i := range idx {
			keys = append(keys, fmt.Sprint(i["name"]))
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "%s: %s\n", n, strings.Join(keys, ","))
	}
	return b.String()
}
