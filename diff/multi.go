package diff

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// MultiSchema names the JSON document of a comparison over several query
// shapes (`bin/brooks compare`).
const MultiSchema = "brooks.compare/v1"

// ShapeResult is one query shape of a multi-shape comparison: its report,
// or why it was skipped (a system cannot answer the shape, 422).
type ShapeResult struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict,omitempty"`
	Skipped string  `json:"skipped,omitempty"`
	Report  *Report `json:"report,omitempty"`
}

// MultiReport judges several shapes' reports as one: the cells of every
// shape count together against the minimum.
type MultiReport struct {
	Schema      string        `json:"schema"`
	Customer    string        `json:"customer"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Now         time.Time     `json:"now"`
	Left, Right string        `json:"-"`
	Verdict     Verdict       `json:"verdict"`
	Reason      string        `json:"reason,omitempty"`
	MinCompared int           `json:"min_compared"`
	Total       Tally         `json:"total"`
	Shapes      []ShapeResult `json:"shapes"`
}

// Combine judges shapes together: mismatch when any compared cell
// mismatches; inconclusive when fewer than minCompared cells were compared
// over all shapes; match otherwise.
func Combine(m *MultiReport, minCompared int, settle time.Duration) {
	m.Schema, m.MinCompared = MultiSchema, max(minCompared, 1)
	var t Tally
	var settledBefore time.Time
	for i := range m.Shapes {
		r := m.Shapes[i].Report
		if r == nil {
			continue
		}
		s := r.Summary.Tally
		t.Cells += s.Cells
		t.Compared += s.Compared
		t.Matched += s.Matched
		t.WithinTolerance += s.WithinTolerance
		t.Expected += s.Expected
		t.Unsettled += s.Unsettled
		t.MissingLeft += s.MissingLeft
		t.MissingRight += s.MissingRight
		t.ValueDrift += s.ValueDrift
		t.Mismatches += s.Mismatches
		settledBefore = r.SettledBefore
		m.Shapes[i].Verdict = Judge(s.Compared, s.Mismatches, 1)
	}
	t.MatchRate = 1
	if t.Compared > 0 {
		t.MatchRate = float64(t.Matched+t.WithinTolerance+t.Expected) / float64(t.Compared)
	}
	m.Total = t
	m.Verdict = Judge(t.Compared, t.Mismatches, m.MinCompared)
	if m.Verdict == VerdictInconclusive {
		s := Summary{MinCompared: m.MinCompared, Tally: t}
		if settledBefore.IsZero() {
			m.Reason = "no shape could be compared: every shape was skipped"
		} else {
			m.Reason = inconclusiveReason(&s, settle, settledBefore)
		}
	}
}

// Text writes the multi-shape report: the verdict, one line per shape, then
// the full report of every shape that mismatched.
func (m *MultiReport) Text(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("brooks compare: %s (left) vs %s (right), %s, %s .. %s\n", m.Left, m.Right, m.Customer, fmtTime(m.From), fmtTime(m.To))
	ew.printf("verdict: %s\n", m.Verdict.Upper())
	if m.Reason != "" {
		ew.printf("why: %s\n", m.Reason)
	}
	t := m.Total
	ew.printf("compared %d of %d cells over %d shapes, match rate %s, %d mismatches (%d expected by a rule, %d unsettled)\n\n",
		t.Compared, t.Cells, len(m.Shapes), percent(t.MatchRate), t.Mismatches, t.Expected, t.Unsettled)
	tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "shape\tverdict\tcompared\tcells\tmismatches\texpected\tunsettled")
	for _, s := range m.Shapes {
		if s.Report == nil {
			fmt.Fprintf(tw, "%s\tskipped\t-\t-\t-\t-\t-\t%s\n", s.Name, s.Skipped)
			continue
		}
		x := s.Report.Summary
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", s.Name, s.Verdict.Upper(), x.Compared, x.Cells, x.Mismatches, x.Expected, x.Unsettled)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range m.Shapes {
		if s.Report != nil && s.Verdict == VerdictMismatch {
			ew.printf("\n== %s ==\n", s.Name)
			if err := s.Report.Text(ew); err != nil {
				return err
			}
		}
	}
	return ew.err
}
