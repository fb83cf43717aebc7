package rawstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/pixel"
)

// Table is the raw event table's name.
const Table = "raw_events"

const schema = `CREATE TABLE IF NOT EXISTS %s.raw_events (
	customer text,
	hour timestamp,
	eid text,
	kafka_partition int,
	kafka_offset bigint,
	event text,
	PRIMARY KEY ((customer, hour), eid)
) WITH comment = 'brooks nextgen raw pixel events, one row per eid'
  AND compaction = ` + compaction

// compaction is size-tiered compaction merging 8 similar sstables at a
// time instead of 4: rows are only ever inserted (never updated or
// deleted), so compaction only bounds the number of sstables, and with
// wider tiers each row is rewritten fewer times (log8 instead of log4 of
// the flushes). Measured on the local node over 2.4 million rows:
// compaction 6 → 2.3–3.2 µs of Cassandra CPU per row
// (deploy/local/cassandra/NOTES.md). A read of a customer-hour may merge
// up to about twice as many sstables; the engine rarely reads (its Deduper
// writes without lookups).
const compaction = `{'class': 'SizeTieredCompactionStrategy', 'min_threshold': '8'}`

var validKeyspace = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,47}$`)

// Migrate creates the keyspace (SimpleStrategy, replication factor rf) and
// the raw event table; it is idempotent.
func Migrate(ctx context.Context, hosts []string, keyspace string, rf int) error {
	if err := cass.EnsureKeyspace(ctx, hosts, keyspace, rf); err != nil {
		return err
	}
	s, err := cass.Connect(hosts, keyspace)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Query(fmt.Sprintf(schema, keyspace)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create table %s.%s: %w", keyspace, Table, err)
	}
	return upgradeCompaction(ctx, s, keyspace)
}

// upgradeCompaction moves a table created before compaction was set (so
// with Cassandra's default: size-tiered, min_threshold 4) to compaction.
// A table whose compaction was set otherwise is left as it is.
func upgradeCompaction(ctx context.Context, s *gocql.Session, keyspace string) error {
	var c map[string]string
	err := s.Query(`SELECT compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?`, keyspace, Table).
		WithContext(ctx).Scan(&c)
	if err != nil {
		return fmt.Errorf("read compaction of %s.%s: %w", keyspace, Table, err)
	}
	if !strings.HasSuffix(c["class"], "SizeTieredCompactionStrategy") || (c["min_threshold"] != "" && c["min_threshold"] != "4") {
		return nil
	}
	if err := s.Query(fmt.Sprintf(`ALTER TABLE %s.%s WITH compaction = %s`, keyspace, Table, compaction)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("set compaction of %s.%s: %w", keyspace, Table, err)
	}
	return nil
}

// Options tune a Store.
type Options struct {
	// LookbackHours is how many UTC hours, the record's own included, Insert
	// searches for an earlier occurrence of an eid (default 2).
	LookbackHours int
	// Concurrency bounds the queries in flight per Insert (default 16).
	Concurrency int
	// Consistency of reads and writes (default One: a single node; use
	// LocalQuorum for both with replication).
	Consistency gocql.Consistency
	// BatchBytes bounds one write: a single-partition unlogged batch, which
	// Cassandra applies as one mutation and exempts from its batch size
	// limits (default 256 KiB: Cassandra's CPU per row falls with the rows
	// per batch; measured 22 against 24 µs per row with 48 KiB batches,
	// and 24 against 38 before write sorted rows by eid; 1 MiB measured the
	// same as 256 KiB. See BenchmarkWriteCPU and
	// deploy/local/cassandra/NOTES.md).
	BatchBytes int
	// LookupChunk is the number of eids per SELECT ... IN (default 200).
	LookupChunk int
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{LookbackHours: 2, Concurrency: 16, Consistency: gocql.One, BatchBytes: 256 << 10, LookupChunk: 200}
}

// Store reads and writes raw events.
type Store struct {
	s        *gocql.Session
	keyspace string
	o        Options
}

// Open connects to the keyspace (created by Migrate).
func Open(hosts []string, keyspace string, o Options) (*Store, error) {
	if !validKeyspace.MatchString(keyspace) {
		return nil, fmt.Errorf("keyspace %q: want letters, digits and _ (at most 48), starting with a letter", keyspace)
	}
	d := DefaultOptions()
	if o.LookbackHours <= 0 {
		o.LookbackHours = d.LookbackHours
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Consistency == 0 {
		o.Consistency = d.Consistency
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = d.BatchBytes
	}
	if o.LookupChunk <= 0 {
		o.LookupChunk = d.LookupChunk
	}
	s, err := cass.Connect(hosts, keyspace)
	if err != nil {
		return nil, err
	}
	return &Store{s: s, keyspace: keyspace, o: o}, nil
}

// Close ends the session.
func (s *Store) Close() { s.s.Close() }

// Ping checks that Cassandra answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.s.Query(`SELECT release_version FROM system.local`).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("cassandra: %w", err)
	}
	return nil
}

// Record is one raw event with where it was read from Kafka.
type Record struct {
	Event     pixel.Event
	Value     []byte // the Kafka record value, stored as is
	Partition int32
	Offset    int64
}

// Hour is the record's row partition hour (UTC).
func (r *Record) Hour() time.Time { return r.Event.Hour() }

// Read returns every stored event of customer in the UTC hour holding hour.
func (s *Store) Read(ctx context.Context, customer string, hour time.Time) ([]pixel.Event, error) {
	var out []pixel.Event
	err := s.Each(ctx, customer, hour, func(r Record) error {
		out = append(out, r.Event)
		return nil
	})
	return out, err
}

// Each calls fn for every stored record of customer in the UTC hour holding
// hour, in eid order, paging through the partition.
func (s *Store) Each(ctx context.Context, customer string, hour time.Time, fn func(Record) error) error {
	h := hour.UTC().Truncate(time.Hour)
	it := s.s.Query(`SELECT kafka_partition, kafka_offset, event FROM raw_events WHERE customer = ? AND hour = ?`, customer, h).
		WithContext(ctx).Consistency(s.o.Consistency).PageSize(5000).Iter()
	var (
		r     Record
		value string
	)
	for it.Scan(&r.Partition, &r.Offset, &value) {
		e, err := pixel.Unmarshal([]byte(value))
		if err != nil {
			it.Close()
			return fmt.Errorf("read raw events %s %s: %w", customer, h.Format(time.RFC3339), err)
		}
		r.Event, r.Value = e, []byte(value)
		if err := fn(r); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("read raw events %s %s: %w", customer, h.Format(time.RFC3339), err)
	}
	return nil
}

// Count returns the number of stored events of customer in an hour (the
// ledger's Cassandra stage).
func (s *Store) Count(ctx context.Context, customer string, hour time.Time) (int, error) {
	var n int
	err := s.s.Query(`SELECT count(*) FROM raw_events WHERE customer = ? AND hour = ?`, customer, hour.UTC().Truncate(time.Hour)).
		WithContext(ctx).Consistency(s.o.Consistency).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count raw events: %w", err)
	}
	return n, nil
}
