package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brooksdata/brooks/diff"
)

// Overall verdicts of a summary.
const (
	// Pass: enough settled comparisons, all cells outside rules matched, no open mismatch.
	Pass = "PASS"
	// Fail: an open mismatch.
	Fail = "FAIL"
	// Inconclusive: fewer settled comparisons than the minimum; never a pass.
	Inconclusive = "INCONCLUSIVE"
)

// Reader is what Summarize reads; *Store implements it.
type Reader interface {
	Comparisons(ctx context.Context, customer string, since, until time.Time) ([]Comparison, error)
	Mismatches(ctx context.Context, customer string, all bool) ([]Mismatch, error)
}

// SummaryOptions tune Summarize.
type SummaryOptions struct {
	// Shapes are the matrix's shape ids: coverage = shapes with a settled
	// comparison in the period / len(Shapes).
	Shapes []string
	// MinCompared is the fewest settled comparisons for a verdict other
	// than INCONCLUSIVE (default 20).
	MinCompared int
	// Rules are the expected-difference rules in force, to list expired ones.
	Rules []diff.Rule
	// MaxMismatches caps the open mismatches listed (default 50).
	MaxMismatches int
}

// Summary is the evidence for one customer over a period.
type Summary struct {
	Schema   string    `json:"schema"`
	Customer string    `json:"customer"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Verdict  string    `json:"verdict"`
	Reason   string    `json:"reason"`
	// Comparisons made; Settled of them compared at least one settled
	// cell; Errors could not be made; Matching settled ones had no mismatch.
	Comparisons int            `json:"comparisons"`
	Settled     int            `json:"settled"`
	Matching    int            `json:"matching"`
	Errors      int            `json:"errors"`
	BySource    map[string]int `json:"by_source"`
	ByServed    map[string]int `json:"by_served_by"`
	// MatchRate is Matching / Settled (1 when none settled: see Verdict).
	MatchRate float64 `json:"match_rate"`
	// Cells sums the settled comparisons' cell tallies.
	Cells diff.Tally `json:"cells"`
	// Coverage = len(CoveredShapes) / len(SummaryOptions.Shapes).
	Coverage      float64  `json:"coverage"`
	CoveredShapes int      `json:"covered_shapes"`
	MatrixShapes  int      `json:"matrix_shapes"`
	MissingShapes []string `json:"missing_shapes"`
	// OpenMismatches lists open mismatches (capped); OpenCount counts all.
	OpenCount      int        `json:"open_count"`
	OpenMismatches []Mismatch `json:"open_mismatches"`
	// RuleHits sums hits per rule over the period.
	RuleHits     map[string]int `json:"rule_hits"`
	ExpiredRules []string       `json:"expired_rules"`
	LastErrors   []string       `json:"last_errors"`
}

// SummarySchema names the summary's JSON format.
const SummarySchema = "brooks.shadow.summary/v1"

// Summarize builds a customer's summary for [since, until).
func Summarize(ctx context.Context, r Reader, customer string, since, until time.Time, o SummaryOptions) (*Summary, error) {
	if o.MinCompared <= 0 {
		o.MinCompared = 20
	}
	if o.MaxMismatches <= 0 {
		o.MaxMismatches = 50
	}
	cs, err := r.Comparisons(ctx, customer, since, until)
	if err != nil {
		return nil, err
	}
	open, err := r.Mismatches(ctx, customer, false)
	if err != nil {
		return nil, err
	}
	s := &Summary{Schema: SummarySchema, Customer: customer, Since: since.UTC(), Until: until.UTC(), BySource: map[string]int{},
		ByServed: map[string]int{}, RuleHits: map[string]int{}, MissingShapes: []string{}, ExpiredRules: []string{},
		LastErrors: []string{}, OpenMismatches: []Mismatch{}, MatrixShapes: len(o.Shapes)}
	covered := map[string]bool{}
	for _, c := range cs {
		s.Comparisons++
		s.BySource[c.Source]++
		s.ByServed[c.ServedBy]++
		if c.Verdict == VerdictError {
			s.Errors++
			if len(s.LastErrors) < 5 {
				s.LastErrors = append(s.LastErrors, c.At.Format(time.RFC3339)+" "+c.Shape+": "+c.Error)
			}
			continue
		}
		for id, n := range c.RuleHits {
			s.RuleHits[id] += n
		}
		if !c.Settled() {
			continue
		}
		s.Settled++
		if c.Tally.Mismatches == 0 {
			s.Matching++
		}
		covered[c.Shape] = true
		addTally(&s.Cells, c.Tally)
	}
	for _, id := range o.Shapes {
		if covered[id] {
			s.CoveredShapes++
		} else {
			s.MissingShapes = append(s.MissingShapes, id)
		}
	}
	if len(o.Shapes) > 0 {
		s.Coverage = float64(s.CoveredShapes) / float64(len(o.Shapes))
	}
	s.MatchRate = 1
	if s.Settled > 0 {
		s.MatchRate = float64(s.Matching) / float64(s.Settled)
	}
	s.Cells.MatchRate = 1
	if s.Cells.Compared > 0 {
		s.Cells.MatchRate = float64(s.Cells.Matched+s.Cells.WithinTolerance+s.Cells.Expected) / float64(s.Cells.Compared)
	}
	s.OpenCount = len(open)
	s.OpenMismatches = open[:min(len(open), o.MaxMismatches)]
	for i := range o.Rules {
		if o.Rules[i].Expired(until) {
			s.ExpiredRules = append(s.ExpiredRules, o.Rules[i].ID)
		}
	}
	switch {
	case s.OpenCount > 0:
		s.Verdict, s.Reason = Fail, fmt.Sprintf("%d open mismatches", s.OpenCount)
	case s.Settled < o.MinCompared:
		s.Verdict, s.Reason = Inconclusive, fmt.Sprintf("%d settled comparisons, fewer than the minimum %d", s.Settled, o.MinCompared)
	case s.Matching < s.Settled:
		// Mismatches seen, since closed by later agreeing comparisons.
		s.Verdict, s.Reason = Pass, fmt.Sprintf("no open mismatch; %d earlier mismatching comparisons were resolved", s.Settled-s.Matching)
	default:
		s.Verdict, s.Reason = Pass, fmt.Sprintf("%d settled comparisons, all matching outside rules", s.Settled)
	}
	return s, nil
}

func addTally(dst *diff.Tally, t diff.Tally) {
	dst.Cells += t.Cells
	dst.Compared += t.Compared
	dst.Matched += t.Matched
	dst.WithinTolerance += t.WithinTolerance
	dst.Expected += t.Expected
	dst.Unsettled += t.Unsettled
	dst.MissingLeft += t.MissingLeft
	dst.MissingRight += t.MissingRight
	dst.ValueDrift += t.ValueDrift
	dst.Mismatches += t.Mismatches
}

// JSON writes the summary as indented JSON.
func (s *Summary) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// Text writes the summary for people.
func (s *Summary) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "shadow report: %s, %s .. %s\n", s.Customer, s.Since.Format(time.RFC3339), s.Until.Format(time.RFC3339))
	fmt.Fprintf(&b, "verdict: %s (%s)\n\n", s.Verdict, s.Reason)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "comparisons\t%d\t(settled %d, matching %d, errors %d)\n", s.Comparisons, s.Settled, s.Matching, s.Errors)
	fmt.Fprintf(tw, "match rate\t%.4f\t(settled comparisons without a mismatch outside rules)\n", s.MatchRate)
	fmt.Fprintf(tw, "cells\t%d compared\tmatched %d, within tolerance %d, expected %d, missing legacy %d, missing nextgen %d, drift %d; unsettled %d\n",
		s.Cells.Compared, s.Cells.Matched, s.Cells.WithinTolerance, s.Cells.Expected, s.Cells.MissingLeft, s.Cells.MissingRight, s.Cells.ValueDrift, s.Cells.Unsettled)
	fmt.Fprintf(tw, "coverage\t%.2f\t(%d of %d matrix shapes with a settled comparison)\n", s.Coverage, s.CoveredShapes, s.MatrixShapes)
	fmt.Fprintf(tw, "sources\t%s\t\n", kv(s.BySource))
	fmt.Fprintf(tw, "served by\t%s\t\n", kv(s.ByServed))
	tw.Flush()
	if len(s.MissingShapes) > 0 {
		fmt.Fprintf(&b, "\nshapes without a settled comparison:\n  %s\n", strings.Join(s.MissingShapes, "\n  "))
	}
	fmt.Fprintf(&b, "\nopen mismatches: %d\n", s.OpenCount)
	for _, m := range s.OpenMismatches {
		key := m.Series
		if key == "" {
			key = "(site)"
		}
		fmt.Fprintf(&b, "  %s %s %s %s: %s legacy %g nextgen %g (allowed %g); first seen %s, served by %s\n",
			m.Shape, m.Cell.Metric, m.Cell.Bucket.Format(time.RFC3339), key, m.Cell.Class, m.Cell.Legacy, m.Cell.Nextgen, m.Cell.Allowed,
			m.FirstSeen.Format(time.RFC3339), m.ServedBy)
	}
	fmt.Fprintf(&b, "\nrule hits:\n")
	if len(s.RuleHits) == 0 {
		b.WriteString("  none\n")
	}
	for _, id := range sortedKeys(s.RuleHits) {
		fmt.Fprintf(&b, "  %-40s %d\n", id, s.RuleHits[id])
	}
	if len(s.ExpiredRules) > 0 {
		fmt.Fprintf(&b, "expired rules: %s\n", strings.Join(s.ExpiredRules, ", "))
	}
	if len(s.LastErrors) > 0 {
		fmt.Fprintf(&b, "\nlast errors:\n  %s\n", strings.Join(s.LastErrors, "\n  "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kv(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
