package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
)

// Defaults of the task topic and the workers' group.
const (
	DefaultTopic = "brooks.audit.tasks"
	DefaultGroup = "brooks-audit-workers"
)

// Task is one (customer, hour) of a distributed replay.
type Task struct {
	Run      string    `json:"run"`
	Customer string    `json:"customer"`
	Hour     time.Time `json:"hour"`
	// From and To clip the hour to the replay's scope.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Now and Settle judge the raw-store hour; RawStore asks for it.
	Now      time.Time     `json:"now"`
	Settle   time.Duration `json:"settle"`
	RawStore bool          `json:"raw_store"`
}

// Result is a worker's work on one task.
type Result struct {
	Task       Task             `json:"task"`
	Worker     string           `json:"worker"`
	Parts      int64            `json:"parts"`
	Records    int64            `json:"records"`
	Events     int64            `json:"events"`
	Duplicates int64            `json:"duplicates"`
	Tally      ledger.Tally     `json:"tally"`
	HourParts  int              `json:"hour_parts"`
	Refused    []replay.Refusal `json:"refused"`
	Orphans    []string         `json:"orphans"`
	Raw        []replay.RawHour `json:"raw"`
	RawError   string           `json:"raw_error,omitempty"`
	// Cells are the hour's rollup cells as rollup documents.
	Cells []json.RawMessage `json:"cells"`
}

// ResultTable is the Cassandra table of task results.
const ResultTable = "audit_tasks"

const resultSchema = `CREATE TABLE IF NOT EXISTS %s.audit_tasks (
	run text,
	customer text,
	hour timestamp,
	worker text,
	result text,
	PRIMARY KEY ((run), customer, hour)
) WITH comment = 'brooks audit worker results, one per (run, customer, hour); a task done twice overwrites its own row'
  AND default_time_to_live = 604800`

// Results stores task results in Cassandra.
type Results struct {
	s        *gocql.Session
	keyspace string
}

// MigrateResults creates the result table (idempotent).
func MigrateResults(ctx context.Context, s *gocql.Session, keyspace string) error {
	if err := s.Query(fmt.Sprintf(resultSchema, keyspace)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create table %s.%s: %w", keyspace, ResultTable, err)
	}
	return nil
}

// NewResults returns the result store of keyspace.
func NewResults(s *gocql.Session, keyspace string) *Results {
	return &Results{s: s, keyspace: keyspace}
}

// Put stores r under its task, replacing an earlier result of that task.
func (rs *Results) Put(ctx context.Context, r *Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return rs.s.Query(fmt.Sprintf(`INSERT INTO %s.%s (run, customer, hour, worker, result) VALUES (?, ?, ?, ?, ?)`, rs.keyspace, ResultTable),
		r.Task.Run, r.Task.Customer, r.Task.Hour, r.Worker, string(b)).WithContext(ctx).Exec()
}

// Has reports whether the task's result is stored.
func (rs *Results) Has(ctx context.Context, t Task) (bool, error) {
	var w string
	err := rs.s.Query(fmt.Sprintf(`SELECT worker FROM %s.%s WHERE run = ? AND customer = ? AND hour = ?`, rs.keyspace, ResultTable),
		t.Run, t.Customer, t.Hour).WithContext(ctx).Scan(&w)
	if errors.Is(err, gocql.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List returns the stored results of a run.
func (rs *Results) List(ctx context.Context, run string) ([]*Result, error) {
	it := rs.s.Query(fmt.Sprintf(`SELECT result FROM %s.%s WHERE run = ?`, rs.keyspace, ResultTable), run).WithContext(ctx).Iter()
	var out []*Result
	var body string
	for it.Scan(&body) {
		var r Result
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			it.Close()
			return nil, fmt.Errorf("decode result: %w", err)
		}
		out = append(out, &r)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read results of %s: %w", run, err)
	}
	return out, nil
}
