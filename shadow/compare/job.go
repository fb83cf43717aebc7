package compare

import (
	"time"

	"github.com/brooksdata/brooks/query"
)

// System names, as the two query APIs put them in served_by.
const (
	Legacy  = "legacy"
	Nextgen = "nextgen"
)

// Where a comparison came from.
const (
	// SourceProxy: a dashboard's query the proxy served.
	SourceProxy = "proxy"
	// SourceMatrix: a synthetic query of the matrix scheduler.
	SourceMatrix = "matrix"
	// SourceRecheck: a comparison with unsettled buckets, asked again
	// once they settled.
	SourceRecheck = "recheck"
)

// Job is one comparison to make: a query, which system serves the
// customer, and (from the proxy) the served answer's bytes. A job without
// Body asks both systems.
type Job struct {
	Query    *query.Query
	ServedBy string
	Body     []byte
	Source   string
	// Shape is the matrix shape's id, or "" for a dashboard's query (the
	// shape is then derived from the query).
	Shape string
	At    time.Time
	// Rechecks counts how often this window was asked again.
	Rechecks int
}

// other is the system that does not serve.
func other(system string) string {
	if system == Legacy {
		return Nextgen
	}
	return Legacy
}
