package engine

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// DefaultGroup is the engine's Kafka consumer group.
const DefaultGroup = "brooks-nextgen"

// Options configure an Engine. Brokers, Topic, Customers, Raw and ES are
// required; the rest have defaults (DefaultOptions).
type Options struct {
	Brokers []string
	Topic   string
	// Group is the consumer group (DefaultGroup).
	Group string

	Customers *pixel.Customers
	// Registry defines metrics and dimensions (rollup.DefaultRegistry).
	Registry *rollup.Registry
	// Raw stores raw events and decides eid origins.
	Raw *rawstore.Store
	// ES writes and reads rollup documents.
	ES *esindex.Client
	// Ledger, when set, records the raw (Cassandra) and rollup stages of
	// the audit ledger, tied to the committed offsets (see ledger.go): a
	// replayed record is never counted twice. *ledger.Lazy fits.
	Ledger ledger.Writer

	// FlushInterval is how often a partition bulk-writes its dirty
	// documents and then commits its offset (1s): the freshness floor.
	FlushInterval time.Duration
	// DailyFlushInterval is how often the 1-day documents, which carry a
	// day's visitor sets, are written (10s); 5-minute documents are written
	// every FlushInterval. Offsets are committed up to the first record a
	// document still waiting holds.
	DailyFlushInterval time.Duration
	// CatchUpFlushInterval replaces FlushInterval while a partition is far
	// behind its end (more than 4 × MaxBatch records): fewer rewrites of
	// the same documents while catching up (5s).
	CatchUpFlushInterval time.Duration
	// MaxBatch is the most records a partition takes into one raw-store
	// insert and rollup step (5000).
	MaxBatch int
	// MaxDirty pauses consumption while a flush is in flight and this many
	// documents wait for the next one (50000).
	MaxDirty int
	// BulkDocs caps documents per _bulk request (2000).
	BulkDocs int
	// PrimeLimit bounds the eid rows a partition's writer reads back from
	// Cassandra when it takes the partition (1000000); past it, the writer
	// looks eids up until its own memory covers the lookback hours.
	PrimeLimit int
	// IdleEvict drops clean documents untouched this long from memory (5m);
	// they are read back from Elasticsearch if needed again.
	IdleEvict time.Duration
	// RetentionInterval is how often expired indices are deleted (1h; 0
	// uses the default, negative disables).
	RetentionInterval time.Duration
	// ShutdownTimeout bounds the final flush and commit (30s).
	ShutdownTimeout time.Duration
	// SessionTimeout of the consumer group membership (10s): a killed
	// engine's partitions move after this long.
	SessionTimeout time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock (time.Now), for retention decisions.
	Now func() time.Time
}

// DefaultOptions returns the tuning defaults.
func DefaultOptions() Options {
	return Options{
		Group:                DefaultGroup,
		FlushInterval:        time.Second,
		DailyFlushInterval:   10 * time.Second,
		CatchUpFlushInterval: 5 * time.Second,
		MaxBatch:             5000,
		MaxDirty:             50000,
		BulkDocs:             2000,
		PrimeLimit:           1000000,
		IdleEvict:            5 * time.Minute,
		RetentionInterval:    time.Hour,
		ShutdownTimeout:      30 * time.Second,
		SessionTimeout:       10 * time.Second,
	}
}

func (o *Options) setDefaults() error {
	switch {
	case len(o.Brokers) == 0:
		return errors.New("engine: no Kafka brokers")
	case o.Topic == "":
		return errors.New("engine: no topic")
	case o.Customers == nil:
		return errors.New("engine: no customers")
	case o.Raw == nil:
		return errors.New("engine: no raw store")
	case o.ES == nil:
		return errors.New("engine: no Elasticsearch client")
	}
	d := DefaultOptions()
	if o.Group == "" {
		o.Group = d.Group
	}
	if o.Registry == nil {
		o.Registry = rollup.DefaultRegistry
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = d.FlushInterval
	}
	if o.CatchUpFlushInterval <= 0 {
		o.CatchUpFlushInterval = d.CatchUpFlushInterval
	}
	if o.DailyFlushInterval <= 0 {
		o.DailyFlushInterval = d.DailyFlushInterval
	}
	if o.DailyFlushInterval < o.FlushInterval {
		o.DailyFlushInterval = o.FlushInterval
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.MaxDirty <= 0 {
		o.MaxDirty = d.MaxDirty
	}
	if o.BulkDocs <= 0 {
		o.BulkDocs = d.BulkDocs
	}
	if o.PrimeLimit <= 0 {
		o.PrimeLimit = d.PrimeLimit
	}
	if o.IdleEvict <= 0 {
		o.IdleEvict = d.IdleEvict
	}
	if o.RetentionInterval == 0 {
		o.RetentionInterval = d.RetentionInterval
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = d.ShutdownTimeout
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = d.SessionTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// GCPercent is the Go garbage collector target `brooks nextgen run` sets
// (unless GOGC is set). The engine's heap is mostly long-lived rollup
// cells and the garbage is per batch, so the default 100 made it collect
// about every batch: with 400 the engine's CPU per event measured 30–34 µs
// instead of 36–44 µs in BenchmarkIngest, for a heap up to five times its
// live size (the cells; a few hundred MiB at the benchmark's scale).
const GCPercent = 400
