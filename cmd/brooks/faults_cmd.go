package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/faults"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/nextgen/esindex"
)

func newFaultsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "plant faults into legacy or nextgen to show the verifier catches them (see `make verify`)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "the fault kinds and where each can be planted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tLEGACY\tNEXTGEN\tWHAT")
			for _, k := range faults.Kinds {
				yes := func(s string) string {
					if k.Cannot[s] != "" {
						return "no"
					}
					return "yes"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.Kind, yes(faults.Legacy), yes(faults.Nextgen), k.Does)
			}
			return w.Flush()
		},
	})
	cmd.AddCommand(newFaultsPlantCmd(a))
	return cmd
}

func newFaultsPlantCmd(a *app) *cobra.Command {
	var f faults.Fault
	var kind, from, to string
	var hold time.Duration
	lo := legacy.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "plant",
		Short: "plant one fault into one system's stores for one customer and range",
		Long: `plant writes a fault into the real stores of one system (legacy: Redis and
MongoDB; nextgen: Elasticsearch), computed from the customer's true events
in the raw-log archive. With --hold it keeps the fault that long (or until
interrupted) and then puts the stores back as they were; without it the
fault stays (nextgen can be repaired with 'brooks audit rebuild').
stale-answer is a query-path fault and is not planted here (see
audit/faults.Stale).`,
		Example: `  brooks faults plant --kind drop-url --system nextgen --customer acme.example \
    --from 2026-12-04T04:20:00Z --to 2026-12-04T04:25:00Z --url https://acme.example/post/1 --hold 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Kind = faults.Kind(kind)
			var err error
			if f.From, err = time.Parse(time.RFC3339, from); err != nil {
				return usageError{fmt.Errorf("--from: %w", err)}
			}
			if f.To, err = time.Parse(time.RFC3339, to); err != nil {
				return usageError{fmt.Errorf("--to: %w", err)}
			}
			if err := f.Validate(); err != nil {
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
			ctx := cmd.Context()
			o := faults.DefaultOptions()
			o.Sink, o.Customers, o.Logger, o.LegacyOptions = sink, customers, a.log, lo
			switch f.System {
			case faults.Nextgen:
				if o.ES, err = esindex.Open(a.cfg.ElasticURL, a.cfg.IndexPrefix); err != nil {
					return usageError{err}
				}
			case faults.Legacy:
				rdb := redis.NewClient(&redis.Options{Addr: a.cfg.RedisAddr})
				defer rdb.Close()
				mc, err := mongo.Connect(ctx, options.Client().ApplyURI(a.cfg.MongoURI))
				if err != nil {
					return fmt.Errorf("mongodb: %w", err)
				}
				defer mc.Disconnect(context.WithoutCancel(ctx))
				o.Redis, o.Mongo = rdb, mc.Database(a.cfg.MongoDatabase)
			}
			p, err := faults.New(o)
			if err != nil {
				return err
			}
			planted, err := p.Plant(ctx, f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "planted %s: %d documents/keys changed\n", f, len(planted.Changed))
			for _, c := range planted.Changed {
				fmt.Fprintln(out, "  "+c)
			}
			if hold <= 0 {
				return nil
			}
			fmt.Fprintf(out, "holding for %s (interrupt to undo now)\n", hold)
			select {
			case <-ctx.Done():
			case <-time.After(hold):
			}
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := planted.Undo(uctx); err != nil {
				return fmt.Errorf("undo: %w", err)
			}
			fmt.Fprintln(out, "undone: the stores are as they were")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "fault kind (brooks faults list)")
	fl.StringVar(&f.System, "system", "", "legacy or nextgen")
	fl.StringVar(&f.Customer, "customer", "", "customer id")
	fl.StringVar(&from, "from", "", "start of the range, RFC 3339, 5-minute aligned")
	fl.StringVar(&to, "to", "", "end of the range (exclusive)")
	fl.StringVar(&f.URL, "url", "", "the page of drop-url (normalised)")
	fl.Float64Var(&f.Fraction, "fraction", 0, "drop-fraction's share of events dropped, (0, 1]")
	fl.DurationVar(&hold, "hold", 0, "keep the fault this long, then undo it (0: keep it)")
	fl.StringVar(&lo.KeyPrefix, "key-prefix", lo.KeyPrefix, "prefix of legacy's Redis keys")
	return cmd
}
