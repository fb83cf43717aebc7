package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
)

// Options tune a Store.
type Options struct {
	// TTL of every row (default 30 days).
	TTL time.Duration
}

// DefaultOptions keeps evidence 30 days.
func DefaultOptions() Options { return Options{TTL: 30 * 24 * time.Hour} }

// Store is the evidence tables in one keyspace.
type Store struct {
	s    *gocql.Session
	ks   string
	opts Options
}

// Migrate creates the evidence tables (idempotent).
func Migrate(ctx context.Context, s *gocql.Session, keyspace string) error {
	stmts := []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.shadow_comparisons (
			customer text, day date, at timestamp, id text,
			shape text, source text, served_by text, query text, verdict text,
			counts map<text, int>, rule_hits map<text, int>, samples text,
			settled_before timestamp, error text, rechecks int,
			PRIMARY KEY ((customer, day), at, id)) WITH CLUSTERING ORDER BY (at DESC, id ASC)`, keyspace),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.shadow_mismatches (
			customer text, shape text, series text, bucket timestamp, metric text,
			open boolean, cell text, served_by text, first_seen timestamp, last_seen timestamp,
			comparison text, closed_at timestamp, closed_by text,
			PRIMARY KEY ((customer), shape, series, bucket, metric))`, keyspace),
	}
	for _, st := range stmts {
		if err := s.Query(st).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("create evidence tables: %w", err)
		}
	}
	return nil
}

// NewStore returns the evidence store of keyspace.
func NewStore(s *gocql.Session, keyspace string, o Options) *Store {
	if o.TTL <= 0 {
		o.TTL = DefaultOptions().TTL
	}
	return &Store{s: s, ks: keyspace, opts: o}
}

func (st *Store) ttl() int { return int(st.opts.TTL / time.Second) }

// Record writes a comparison and updates the open mismatches of its shape:
// every mismatching cell is opened (or kept open); when the comparison is
// settled and Complete, every open cell of the shape whose bucket it
// compared and that no longer mismatches is closed.
func (st *Store) Record(ctx context.Context, c *Comparison) error {
	samples, err := json.Marshal(c.Samples)
	if err != nil {
		return fmt.Errorf("encode samples: %w", err)
	}
	var qj []byte
	if c.Query != nil {
		qj, _ = json.Marshal(c.Query)
	}
	at := c.At.UTC()
	counts := map[string]int{
		"cells": c.Tally.Cells, "compared": c.Tally.Compared, "matched": c.Tally.Matched, "within_tolerance": c.Tally.WithinTolerance,
		"expected": c.Tally.Expected, "unsettled": c.Tally.Unsettled, "missing_left": c.Tally.MissingLeft,
		"missing_right": c.Tally.MissingRight, "value_drift": c.Tally.ValueDrift,
	}
	err = st.s.Query(fmt.Sprintf(`INSERT INTO %s.shadow_comparisons (customer, day, at, id, shape, source, served_by, query, verdict,
		counts, rule_hits, samples, settled_before, error, rechecks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`, st.ks),
		c.Customer, at.Truncate(24*time.Hour), at, c.ID, c.Shape, c.Source, c.ServedBy, string(qj), c.Verdict,
		counts, c.RuleHits, string(samples), c.SettledBefore, c.Error, c.Rechecks, st.ttl()).WithContext(ctx).Exec()
	if err != nil {
		return fmt.Errorf("record comparison: %w", err)
	}
	if !c.Settled() || c.Query == nil {
		return nil
	}
	return st.track(ctx, c)
}

type cellKey struct {
	series, metric string
	bucket         int64
}

func (st *Store) track(ctx context.Context, c *Comparison) error {
	at := c.At.UTC()
	now := map[cellKey]Cell{}
	for _, m := range c.Mismatches {
		now[cellKey{query.KeyString(m.Series), m.Metric, m.Bucket.Unix()}] = m
	}
	open, err := st.shapeMismatches(ctx, c.Customer, c.Shape)
	if err != nil {
		return err
	}
	known := map[cellKey]Mismatch{}
	for _, m := range open {
		known[cellKey{m.Series, m.Cell.Metric, m.Cell.Bucket.Unix()}] = m
	}
	ins := fmt.Sprintf(`INSERT INTO %s.shadow_mismatches (customer, shape, series, bucket, metric, open, cell, served_by,
		first_seen, last_seen, comparison, closed_at, closed_by) VALUES (?, ?, ?, ?, ?, true, ?, ?, ?, ?, ?, null, null) USING TTL ?`, st.ks)
	for k, cell := range now {
		first := at
		if m, ok := known[k]; ok && m.Open {
			first = m.FirstSeen
		}
		cj, _ := json.Marshal(cell)
		if err := st.s.Query(ins, c.Customer, c.Shape, k.series, cell.Bucket.UTC(), k.metric, string(cj), c.ServedBy,
			first, at, c.ID, st.ttl()).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("open mismatch: %w", err)
		}
	}
	if !c.Complete {
		return nil
	}
	// Close what this comparison saw settled and agreeing.
	step := query.Step(c.Query.Interval)
	closeStmt := fmt.Sprintf(`UPDATE %s.shadow_mismatches USING TTL ? SET open = false, closed_at = ?, closed_by = ?
		WHERE customer = ? AND shape = ? AND series = ? AND bucket = ? AND metric = ?`, st.ks)
	for k, m := range known {
		if !m.Open {
			continue
		}
		if _, still := now[k]; still {
			continue
		}
		b := m.Cell.Bucket
		end := b.Add(step)
		if step == 0 {
			end = c.Query.To
		}
		if b.Before(c.Query.From) || !b.Before(c.Query.To) || end.After(c.SettledBefore) {
			continue // this comparison did not compare that cell settled
		}
		if err := st.s.Query(closeStmt, st.ttl(), at, c.ID, c.Customer, c.Shape, k.series, b.UTC(), k.metric).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("close mismatch: %w", err)
		}
	}
	return nil
}

func (st *Store) shapeMismatches(ctx context.Context, customer, shape string) ([]Mismatch, error) {
	return st.mismatches(ctx, fmt.Sprintf(`SELECT customer, shape, series, bucket, metric, open, cell, served_by, first_seen, last_seen,
		comparison, closed_at, closed_by FROM %s.shadow_mismatches WHERE customer = ? AND shape = ?`, st.ks), customer, shape)
}

// Mismatches returns the customer's mismatches, open ones first (by last
// seen, newest first); closed ones only when all is set.
func (st *Store) Mismatches(ctx context.Context, customer string, all bool) ([]Mismatch, error) {
	ms, err := st.mismatches(ctx, fmt.Sprintf(`SELECT customer, shape, series, bucket, metric, open, cell, served_by, first_seen, last_seen,
		comparison, closed_at, closed_by FROM %s.shadow_mismatches WHERE customer = ?`, st.ks), customer)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Open || all {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Open != out[j].Open {
			return out[i].Open
		}
		return out[i].LastSeen.After(out[j].LastSeen)
	})
	return out, nil
}

func (st *Store) mismatches(ctx context.Context, stmt string, args ...any) ([]Mismatch, error) {
	it := st.s.Query(stmt, args...).WithContext(ctx).Iter()
	var out []Mismatch
	var m Mismatch
	var metric, cell, closedBy string
	var bucket, closedAt time.Time
	for it.Scan(&m.Customer, &m.Shape, &m.Series, &bucket, &metric, &m.Open, &cell, &m.ServedBy, &m.FirstSeen, &m.LastSeen,
		&m.Comparison, &closedAt, &closedBy) {
		mm := m
		if err := json.Unmarshal([]byte(cell), &mm.Cell); err != nil {
			return nil, fmt.Errorf("mismatch cell: %w", err)
		}
		mm.Cell.Bucket, mm.Cell.Metric = bucket.UTC(), metric
		if !closedAt.IsZero() {
			t := closedAt.UTC()
			mm.ClosedAt, mm.ClosedBy = &t, closedBy
		}
		out = append(out, mm)
		closedAt, closedBy = time.Time{}, ""
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read mismatches: %w", err)
	}
	return out, nil
}

// Comparisons returns the customer's comparisons in [since, until), newest
// first.
func (st *Store) Comparisons(ctx context.Context, customer string, since, until time.Time) ([]Comparison, error) {
	var out []Comparison
	stmt := fmt.Sprintf(`SELECT at, id, shape, source, served_by, query, verdict, counts, rule_hits, samples, settled_before, error, rechecks
		FROM %s.shadow_comparisons WHERE customer = ? AND day = ? AND at >= ? AND at < ?`, st.ks)
	for day := until.UTC().Truncate(24 * time.Hour); !day.Before(since.UTC().Truncate(24 * time.Hour)); day = day.Add(-24 * time.Hour) {
		it := st.s.Query(stmt, customer, day, since, until).WithContext(ctx).Iter()
		for {
			var c Comparison
			var qj, samples string
			var counts map[string]int
			if !it.Scan(&c.At, &c.ID, &c.Shape, &c.Source, &c.ServedBy, &qj, &c.Verdict, &counts, &c.RuleHits, &samples, &c.SettledBefore, &c.Error, &c.Rechecks) {
				break
			}
			c.Customer, c.At = customer, c.At.UTC()
			if qj != "" {
				c.Query = &query.Query{}
				if err := json.Unmarshal([]byte(qj), c.Query); err != nil {
					return nil, fmt.Errorf("comparison %s query: %w", c.ID, err)
				}
			}
			if samples != "" {
				if err := json.Unmarshal([]byte(samples), &c.Samples); err != nil {
					return nil, fmt.Errorf("comparison %s samples: %w", c.ID, err)
				}
			}
			c.Tally = tallyOf(counts)
			out = append(out, c)
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("read comparisons: %w", err)
		}
	}
	return out, nil
}

func tallyOf(m map[string]int) diff.Tally {
	t := diff.Tally{Cells: m["cells"], Compared: m["compared"], Matched: m["matched"], WithinTolerance: m["within_tolerance"],
		Expected: m["expected"], Unsettled: m["unsettled"], MissingLeft: m["missing_left"], MissingRight: m["missing_right"], ValueDrift: m["value_drift"]}
	t.Mismatches = t.MissingLeft + t.MissingRight + t.ValueDrift
	t.MatchRate = 1
	if t.Compared > 0 {
		t.MatchRate = float64(t.Matched+t.WithinTolerance+t.Expected) / float64(t.Compared)
	}
	return t
}
