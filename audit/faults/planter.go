package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// Undo puts the stores a plant changed back as they were.
type Undo func(ctx context.Context) error

// Options say where the stores are. Legacy's are needed to plant into
// legacy, nextgen's to plant into nextgen; the archive and customers
// always.
type Options struct {
	// Sink is the raw-log archive: the true events to plant from.
	Sink      archive.Sink
	Customers *pixel.Customers
	// Redis, Mongo and LegacyOptions are legacy's stores and layout
	// (LegacyOptions.KeyPrefix, Collection, SiteCollection, DayShards).
	Redis         redis.UniversalClient
	Mongo         *mongo.Database
	LegacyOptions legacy.Options
	// ES is nextgen's rollup index client; Registry its registry
	// (rollup.DefaultRegistry when nil).
	ES       *esindex.Client
	Registry *rollup.Registry
	Logger   *slog.Logger
}

// DefaultOptions returns options with legacy's production layout and the
// default registry; the stores are the caller's.
func DefaultOptions() Options {
	return Options{LegacyOptions: legacy.DefaultOptions(), Registry: rollup.DefaultRegistry, Logger: slog.Default()}
}

// Planter plants faults.
type Planter struct{ o Options }

// New checks o.
func New(o Options) (*Planter, error) {
	if o.Sink == nil || o.Customers == nil {
		return nil, errors.New("faults: the archive and the customers are required")
	}
	if o.Registry == nil {
		o.Registry = rollup.DefaultRegistry
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Planter{o: o}, nil
}

// Planted is a planted fault: what changed and how to undo it.
type Planted struct {
	Fault Fault
	// Changed names what was written: Elasticsearch rollup keys or legacy
	// Redis keys and Mongo documents.
	Changed   []string
	Undo      Undo
	PlantedAt time.Time
}

// Plant plants f into its system's stores. A fault that would change
// nothing (no events of the customer in the range) is an error: it could
// not be caught, and saying it was planted would be a lie.
func (p *Planter) Plant(ctx context.Context, f Fault) (*Planted, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Kind == StaleAnswer {
		return nil, fmt.Errorf("%s is planted on the query path: wrap the system's client with faults.Stale", f.Kind)
	}
	if _, err := p.o.Customers.Get(f.Customer); err != nil {
		return nil, err
	}
	_, _, day0, day1 := scope(f)
	events, err := ReadEvents(ctx, p.o.Sink, f.Customer, day0, day1)
	if err != nil {
		return nil, err
	}
	out := &Planted{Fault: f}
	switch f.System {
	case Nextgen:
		if p.o.ES == nil {
			return nil, errors.New("faults: no Elasticsearch client for nextgen")
		}
		n := &nextgenStores{es: p.o.ES, reg: p.o.Registry, customers: p.o.Customers}
		undo, keys, err := n.plant(ctx, f, events)
		if err != nil {
			return nil, fmt.Errorf("plant %s: %w", f, err)
		}
		out.Undo = undo
		for _, k := range keys {
			out.Changed = append(out.Changed, fmt.Sprintf("%s %s %s", k.Granularity, k.BucketStart().Format(time.RFC3339), docIDOf(p.o.Registry, k)))
		}
	case Legacy:
		if p.o.Redis == nil || p.o.Mongo == nil {
			return nil, errors.New("faults: no Redis or MongoDB for legacy")
		}
		l := &legacyStores{rdb: p.o.Redis, db: p.o.Mongo, opts: p.o.LegacyOptions, customers: p.o.Customers}
		undo, changed, err := l.plant(ctx, f, events)
		if err != nil {
			if undo != nil {
				_ = undo(context.WithoutCancel(ctx))
			}
			return nil, fmt.Errorf("plant %s: %w", f, err)
		}
		out.Undo, out.Changed = undo, changed
	}
	if len(out.Changed) == 0 {
		return nil, fmt.Errorf("plant %s: nothing to change (no events of %s in the range?)", f, f.Customer)
	}
	out.PlantedAt = time.Now()
	p.o.Logger.Info("fault planted", "fault", f.String(), "changed", len(out.Changed))
	return out, nil
}

func docIDOf(reg *rollup.Registry, k rollup.Key) string {
	if k.Site() {
		return "site"
	}
	return reg.TupleHash(mustValues(reg, k.Tuple))
}

func mustValues(reg *rollup.Registry, tuple string) []string {
	v, _ := reg.Values(tuple)
	return v
}
