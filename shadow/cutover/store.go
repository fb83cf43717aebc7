package cutover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"
)

// Table is the Cassandra table of cutover states and their history: one
// partition per customer; the static columns are the current state and
// its version, each row below them one transition (keyed by the version it
// produced). A transition is one conditional batch on that partition —
// the state changes only IF the version is still the one read, and the
// history row is written in the same batch, so there is never a state
// without its history entry nor a history entry of a lost change.
const Table = "cutover"

const schema = `CREATE TABLE IF NOT EXISTS %s.cutover (
	customer text,
	state text static,
	cur_version bigint static,
	changed_at timestamp static,
	auto_at timestamp static,
	version bigint,
	at timestamp,
	from_state text,
	to_state text,
	actor text,
	reason text,
	forced boolean,
	evidence text,
	PRIMARY KEY ((customer), version)
) WITH CLUSTERING ORDER BY (version ASC)
  AND comment = 'brooks cutover: per-customer state (static columns, compare-and-set on cur_version) and its append-only history'`

// Migrate creates the cutover table (idempotent).
func Migrate(ctx context.Context, s *gocql.Session, keyspace string) error {
	if err := s.Query(fmt.Sprintf(schema, keyspace)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create table %s.%s: %w", keyspace, Table, err)
	}
	return nil
}

// Record is a customer's current state. A customer never moved is Legacy
// at version 0.
type Record struct {
	Customer  string    `json:"customer"`
	State     State     `json:"state"`
	Version   int64     `json:"version"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
	// AutoAt is the last automatic (controller) move, for the hold-down.
	AutoAt time.Time `json:"auto_at,omitzero"`
}

// Entry is one transition in the history.
type Entry struct {
	Version  int64     `json:"version"`
	At       time.Time `json:"at"`
	From     State     `json:"from"`
	To       State     `json:"to"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Forced   bool      `json:"forced"`
	Evidence []Gate    `json:"evidence"`
}

// ConflictError is a lost compare-and-set: someone else changed the state
// since it was read. Current is the state now.
type ConflictError struct {
	Customer string
	// Expected is the version read; ExpectedState, when set, the state the
	// caller said the customer was in (Request.From).
	Expected      int64
	ExpectedState State
	Current       Record
}

func (e *ConflictError) Error() string {
	exp := fmt.Sprintf("expected version %d", e.Expected)
	if e.ExpectedState != "" {
		exp = "expected " + string(e.ExpectedState)
	}
	return fmt.Sprintf("cutover of %s changed concurrently (someone else moved it): %s, now %s at version %d (changed %s)",
		e.Customer, exp, e.Current.State, e.Current.Version, e.Current.ChangedAt.Format(time.RFC3339))
}

// Store is the cutover table in one keyspace.
type Store struct {
	s  *gocql.Session
	ks string
}

// NewStore returns the cutover store of keyspace.
func NewStore(s *gocql.Session, keyspace string) *Store { return &Store{s: s, ks: keyspace} }

// Get reads a customer's current state (serial consistency: it sees every
// applied compare-and-set).
func (st *Store) Get(ctx context.Context, customer string) (Record, error) {
	r := Record{Customer: customer, State: Legacy}
	var state string
	var ver int64
	var changed, auto time.Time
	err := st.s.Query(fmt.Sprintf(`SELECT state, cur_version, changed_at, auto_at FROM %s.cutover WHERE customer = ? LIMIT 1`, st.ks), customer).
		WithContext(ctx).Consistency(gocql.Consistency(gocql.Serial)).Scan(&state, &ver, &changed, &auto)
	if errors.Is(err, gocql.ErrNotFound) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("read cutover state of %s: %w", customer, err)
	}
	return st.record(customer, state, ver, changed, auto)
}

func (st *Store) record(customer, state string, ver int64, changed, auto time.Time) (Record, error) {
	r := Record{Customer: customer, State: Legacy, Version: ver, ChangedAt: changed.UTC(), AutoAt: auto.UTC()}
	if changed.IsZero() {
		r.ChangedAt = time.Time{}
	}
	if auto.IsZero() {
		r.AutoAt = time.Time{}
	}
	if state != "" {
		s, err := Parse(state)
		if err != nil {
			return r, fmt.Errorf("cutover state of %s: %w", customer, err)
		}
		r.State = s
	}
	return r, nil
}

// List reads every customer with a stored state.
func (st *Store) List(ctx context.Context) ([]Record, error) {
	it := st.s.Query(fmt.Sprintf(`SELECT DISTINCT customer, state, cur_version, changed_at, auto_at FROM %s.cutover`, st.ks)).WithContext(ctx).Iter()
	var out []Record
	var customer, state string
	var ver int64
	var changed, auto time.Time
	for it.Scan(&customer, &state, &ver, &changed, &auto) {
		r, err := st.record(customer, state, ver, changed, auto)
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, r)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("list cutover states: %w", err)
	}
	return out, nil
}

// Transition moves the customer from cur (as read) to e.To, if the stored
// version is still cur.Version, and appends e to the history. A lost race
// is a *ConflictError with the state now. e.From, e.Version and a zero
// e.At are filled in; auto marks a controller move (hold-down clock).
func (st *Store) Transition(ctx context.Context, cur Record, e Entry, auto bool) (Record, error) {
	if _, err := Check(cur.State, e.To); err != nil {
		return cur, err
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	e.From, e.Version = cur.State, cur.Version+1
	ev, err := json.Marshal(e.Evidence)
	if err != nil {
		return cur, fmt.Errorf("encode evidence: %w", err)
	}
	b := st.s.NewBatch(gocql.LoggedBatch).WithContext(ctx)
	b.SerialConsistency(gocql.Serial)
	cond := "IF cur_version = ?"
	args := []any{string(e.To), e.Version, e.At, cur.Customer, cur.Version}
	if cur.Version == 0 {
		cond, args = "IF cur_version = null", args[:4]
	}
	set := "state = ?, cur_version = ?, changed_at = ?"
	if auto {
		set += ", auto_at = ?"
		args = append(args[:3], append([]any{e.At}, args[3:]...)...)
	}
	b.Query(fmt.Sprintf(`UPDATE %s.cutover SET %s WHERE customer = ? %s`, st.ks, set, cond), args...)
	b.Query(fmt.Sprintf(`INSERT INTO %s.cutover (customer, version, at, from_state, to_state, actor, reason, forced, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, st.ks),
		cur.Customer, e.Version, e.At, string(e.From), string(e.To), e.Actor, e.Reason, e.Forced, string(ev))
	applied, iter, err := st.s.ExecuteBatchCAS(b)
	if iter != nil {
		iter.Close()
	}
	if err != nil {
		return cur, fmt.Errorf("write cutover state of %s: %w", cur.Customer, err)
	}
	if !applied {
		now, err := st.Get(ctx, cur.Customer)
		if err != nil {
			return cur, fmt.Errorf("lost compare-and-set, then: %w", err)
		}
		return now, &ConflictError{Customer: cur.Customer, Expected: cur.Version, Current: now}
	}
	next := Record{Customer: cur.Customer, State: e.To, Version: e.Version, ChangedAt: e.At, AutoAt: cur.AutoAt}
	if auto {
		next.AutoAt = e.At
	}
	return next, nil
}

// History returns the customer's transitions, oldest first.
func (st *Store) History(ctx context.Context, customer string) ([]Entry, error) {
	it := st.s.Query(fmt.Sprintf(`SELECT version, at, from_state, to_state, actor, reason, forced, evidence FROM %s.cutover WHERE customer = ?`, st.ks), customer).
		WithContext(ctx).Iter()
	var out []Entry
	var e Entry
	var from, to, ev string
	for it.Scan(&e.Version, &e.At, &from, &to, &e.Actor, &e.Reason, &e.Forced, &ev) {
		if e.At.IsZero() {
			continue // the static row of a partition without history
		}
		x := e
		x.At, x.From, x.To = e.At.UTC(), State(from), State(to)
		if ev != "" {
			if err := json.Unmarshal([]byte(ev), &x.Evidence); err != nil {
				it.Close()
				return nil, fmt.Errorf("history of %s version %d: evidence: %w", customer, e.Version, err)
			}
		}
		out = append(out, x)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read cutover history of %s: %w", customer, err)
	}
	return out, nil
}
