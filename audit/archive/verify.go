package archive

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/diff"
)

// VerifySchema names the JSON document of `brooks archive verify`.
const VerifySchema = "brooks.archive.verify/v1"

// Verification is the outcome of verifying one or more customers' parts
// over one period: one JSON document, whatever the number of customers.
type Verification struct {
	Schema string    `json:"schema"`
	Root   string    `json:"root"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Verdict is mismatch when a part disagrees with its manifest,
	// inconclusive when fewer than MinParts parts were checked (nothing
	// checked proves nothing), match otherwise; Reason says why it is
	// inconclusive and what to do.
	Verdict  diff.Verdict `json:"verdict"`
	Reason   string       `json:"reason,omitempty"`
	MinParts int          `json:"min_parts"`
	Parts    int          `json:"parts"`
	Events   int64        `json:"events"`
	Problems int          `json:"problems"`
	// Customers has one report per customer verified, with its per-hour
	// tallies.
	Customers []*VerifyReport `json:"customers"`
}

// VerifyCustomers verifies every customer's parts over [from, to) (see
// Verify) and judges the whole: at least minParts parts must have been
// checked for a verdict other than inconclusive. root names the archive
// in the report and its messages.
func VerifyCustomers(ctx context.Context, sink Sink, root string, customers []string, from, to time.Time, minParts int) (*Verification, error) {
	v := &Verification{Schema: VerifySchema, Root: root, From: from.UTC(), To: to.UTC(), MinParts: max(minParts, 1), Customers: []*VerifyReport{}}
	for _, c := range customers {
		rep, err := Verify(ctx, sink, c, from, to)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", c, err)
		}
		v.Customers = append(v.Customers, rep)
		v.Parts += rep.Parts
		v.Events += rep.Events
		v.Problems += len(rep.Problems)
	}
	v.Verdict = diff.Judge(v.Parts, v.Problems, v.MinParts)
	if v.Verdict == diff.VerdictInconclusive {
		span := fmt.Sprintf("%s to %s", v.From.Format(time.RFC3339), v.To.Format(time.RFC3339))
		if v.Parts == 0 {
			v.Reason = fmt.Sprintf("no closed parts in %s under %s: choose a period the archiver ran in (a part closes about a minute after it opens), or check BROOKS_STATE / --archive-dir", span, root)
		} else {
			v.Reason = fmt.Sprintf("checked %d parts in %s, fewer than the minimum %d: choose a longer period or lower --min-parts", v.Parts, span, v.MinParts)
		}
	}
	return v, nil
}
