package rebuild

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"
)

// CheckpointTable is the Cassandra table of rebuild checkpoints.
const CheckpointTable = "audit_rebuild_checkpoints"

const checkpointSchema = `CREATE TABLE IF NOT EXISTS %s.audit_rebuild_checkpoints (
	customer text,
	scope_from timestamp,
	scope_to timestamp,
	hours_done timestamp,
	days_done timestamp,
	updated_at timestamp,
	PRIMARY KEY ((customer), scope_from, scope_to)
) WITH comment = 'brooks audit rebuild progress, per customer and scope; deleted when a rebuild finishes'`

// ScopeID names one rebuild: a customer and its hour-aligned scope.
type ScopeID struct {
	Customer string
	From, To time.Time
}

// Checkpoint is how far a rebuild got: every hour before HoursDone has its
// 5-minute documents rebuilt, every day before DaysDone its daily ones.
type Checkpoint struct {
	HoursDone, DaysDone time.Time
}

// CheckpointStore keeps checkpoints in Cassandra.
type CheckpointStore struct {
	s        *gocql.Session
	keyspace string
}

// MigrateCheckpoints creates the checkpoint table (idempotent).
func MigrateCheckpoints(ctx context.Context, s *gocql.Session, keyspace string) error {
	if err := s.Query(fmt.Sprintf(checkpointSchema, keyspace)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create table %s.%s: %w", keyspace, CheckpointTable, err)
	}
	return nil
}

// NewCheckpointStore returns a store on a session of keyspace.
func NewCheckpointStore(s *gocql.Session, keyspace string) *CheckpointStore {
	return &CheckpointStore{s: s, keyspace: keyspace}
}

// Load returns id's checkpoint (zero when there is none).
func (c *CheckpointStore) Load(ctx context.Context, id ScopeID) (Checkpoint, error) {
	var cp Checkpoint
	err := c.s.Query(fmt.Sprintf(`SELECT hours_done, days_done FROM %s.%s WHERE customer = ? AND scope_from = ? AND scope_to = ?`, c.keyspace, CheckpointTable),
		id.Customer, id.From, id.To).WithContext(ctx).Scan(&cp.HoursDone, &cp.DaysDone)
	if errors.Is(err, gocql.ErrNotFound) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read checkpoint: %w", err)
	}
	cp.HoursDone, cp.DaysDone = cp.HoursDone.UTC(), cp.DaysDone.UTC()
	return cp, nil
}

// Save records id's checkpoint.
func (c *CheckpointStore) Save(ctx context.Context, id ScopeID, cp Checkpoint) error {
	return c.s.Query(fmt.Sprintf(`INSERT INTO %s.%s (customer, scope_from, scope_to, hours_done, days_done, updated_at) VALUES (?, ?, ?, ?, ?, ?)`, c.keyspace, CheckpointTable),
		id.Customer, id.From, id.To, cp.HoursDone, cp.DaysDone, time.Now().UTC()).WithContext(ctx).Exec()
}

// Delete removes id's checkpoint (the rebuild finished).
func (c *CheckpointStore) Delete(ctx context.Context, id ScopeID) error {
	return c.s.Query(fmt.Sprintf(`DELETE FROM %s.%s WHERE customer = ? AND scope_from = ? AND scope_to = ?`, c.keyspace, CheckpointTable),
		id.Customer, id.From, id.To).WithContext(ctx).Exec()
}
