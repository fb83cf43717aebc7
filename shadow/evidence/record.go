// Package evidence keeps what the shadow comparer found, in Cassandra with
// a TTL: one row per comparison (customer, time, query shape, the system
// that served, per-class cell counts, verdict, capped samples with both
// values and the rule that covered them) and one row per open mismatch
// cell (customer, shape, series key, bucket, metric) that stays open until
// a later settled comparison of the same shape covering that bucket agrees
// (or a rule covers it).
//
// Summarize turns the rows of a period into the report that `brooks shadow
// report` prints and GET /v1/shadow/summary serves.
//
// Usage:
//
//	err := evidence.Migrate(ctx, session, keyspace)
//	st := evidence.NewStore(session, keyspace, evidence.DefaultOptions())
//	err = st.Record(ctx, &evidence.Comparison{...})
//	sum, err := evidence.Summarize(ctx, st, "acme.example", since, until, evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()})
package evidence

import (
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
)

// Verdicts of one comparison.
const (
	// VerdictMatch: settled cells were compared and none mismatched.
	VerdictMatch = "match"
	// VerdictMismatch: at least one settled cell mismatched.
	VerdictMismatch = "mismatch"
	// VerdictUnsettled: cells exist but none had settled yet.
	VerdictUnsettled = "unsettled"
	// VerdictEmpty: neither system had a cell.
	VerdictEmpty = "empty"
	// VerdictError: the comparison could not be made (a system failed).
	VerdictError = "error"
)

// Comparison is one comparison's evidence.
type Comparison struct {
	ID       string
	Customer string
	At       time.Time
	// Shape is the query's shape id (matrix.ID).
	Shape    string
	Source   string // proxy, matrix, recheck
	ServedBy string // the system serving the customer
	Query    *query.Query
	Verdict  string
	Tally    diff.Tally
	// RuleHits counts cells each rule covered, by rule id.
	RuleHits map[string]int
	// Samples are capped per class; Left is legacy, Right nextgen.
	Samples diff.Samples
	// SettledBefore: buckets ending after it were not compared.
	SettledBefore time.Time
	// Mismatches are every mismatching cell when Complete, for tracking
	// open mismatches; when not Complete (too many to list) no open
	// mismatch is closed by this comparison.
	Mismatches []Cell
	Complete   bool
	Error      string
	Rechecks   int
}

// Settled reports whether the comparison compared at least one settled
// cell: only those count as evidence.
func (c *Comparison) Settled() bool { return c.Tally.Compared > 0 }

// Cell is one mismatching cell, with both values (legacy, nextgen).
type Cell struct {
	Series  map[string]string `json:"series"`
	Bucket  time.Time         `json:"bucket"`
	Metric  string            `json:"metric"`
	Class   string            `json:"class"`
	Legacy  float64           `json:"legacy"`
	Nextgen float64           `json:"nextgen"`
	Allowed float64           `json:"allowed"`
}

// Mismatch is an open (or closed) mismatch: a cell of a shape that
// differed after settling.
type Mismatch struct {
	Customer  string    `json:"customer"`
	Shape     string    `json:"shape"`
	Series    string    `json:"series"` // query.KeyString of the key; "" for the site
	Cell      Cell      `json:"cell"`
	ServedBy  string    `json:"served_by"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Comparison is the id of the last comparison that saw it.
	Comparison string     `json:"comparison"`
	Open       bool       `json:"open"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	ClosedBy   string     `json:"closed_by,omitempty"`
}
