package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/gocql/gocql"
)

// Store keeps ledger entries in Cassandra. Entries are append-only rows
// keyed by (customer, hour) and (stage, writer, batch): recording the same
// batch again overwrites it, so a retried flush never counts twice, and the
// stage's tally is the sum of its rows.
type Store struct {
	session  *gocql.Session
	keyspace string
}

// NewStore uses session; keyspace holds the ledger table (see Migrate).
func NewStore(session *gocql.Session, keyspace string) *Store {
	return &Store{session: session, keyspace: keyspace}
}

// Migrate creates the ledger table in keyspace (which must exist).
func Migrate(ctx context.Context, session *gocql.Session, keyspace string) error {
	stmt := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.ledger (
		customer text, hour timestamp, stage text, writer text, batch_id text,
		count bigint, hash bigint, recorded_at timestamp,
		PRIMARY KEY ((customer, hour), stage, writer, batch_id))`, keyspace)
	if err := session.Query(stmt).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create ledger table: %w", err)
	}
	return nil
}

// Record writes one batch of a stage's tallies. writer names the process
// (or file) that counted, batch makes the write idempotent.
func (s *Store) Record(ctx context.Context, stage, writer, batch string, tallies map[Key]Tally) error {
	if len(tallies) == 0 {
		return nil
	}
	now := time.Now().UTC()
	b := s.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	stmt := fmt.Sprintf(`INSERT INTO %s.ledger (customer, hour, stage, writer, batch_id, count, hash, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.keyspace)
	n := 0
	for k, t := range tallies {
		b.Query(stmt, k.Customer, k.Hour, stage, writer, batch, t.Count, int64(t.Hash), now)
		n++
		if n == 50 {
			if err := s.session.ExecuteBatch(b); err != nil {
				return fmt.Errorf("record ledger: %w", err)
			}
			b = s.session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
			n = 0
		}
	}
	if n > 0 {
		if err := s.session.ExecuteBatch(b); err != nil {
			return fmt.Errorf("record ledger: %w", err)
		}
	}
	return nil
}

// Hours maps each hour to each stage's tally.
type Hours map[time.Time]map[string]Tally

// Read returns every stage's tally for customer over [from, to), by hour.
func (s *Store) Read(ctx context.Context, customer string, from, to time.Time) (Hours, error) {
	out := Hours{}
	stmt := fmt.Sprintf(`SELECT stage, count, hash FROM %s.ledger WHERE customer = ? AND hour = ?`, s.keyspace)
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		iter := s.session.Query(stmt, customer, h).WithContext(ctx).Iter()
		var stage string
		var count, hash int64
		for iter.Scan(&stage, &count, &hash) {
			if out[h] == nil {
				out[h] = map[string]Tally{}
			}
			t := out[h][stage]
			t.Merge(Tally{Count: count, Hash: uint64(hash)})
			out[h][stage] = t
		}
		if err := iter.Close(); err != nil {
			return nil, fmt.Errorf("read ledger %s %s: %w", customer, h.Format(time.RFC3339), err)
		}
	}
	return out, nil
}
