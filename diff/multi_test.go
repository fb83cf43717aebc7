package diff

import (
	"strings"
	"testing"
	"time"
)

func TestCombine(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rep := func(compared, mismatches, unsettled int) *Report {
		return &Report{SettledBefore: now.Add(-10 * time.Minute), Summary: Summary{Tally: Tally{
			Cells: compared + unsettled, Compared: compared, Matched: compared - mismatches, Unsettled: unsettled, ValueDrift: mismatches, Mismatches: mismatches}}}
	}
	tests := []struct {
		name   string
		shapes []ShapeResult
		min    int
		want   Verdict
		reason string
	}{
		{"every shape skipped", []ShapeResult{{Name: "a", Skipped: "legacy: no"}}, 1, VerdictInconclusive, "every shape was skipped"},
		{"nothing settled", []ShapeResult{{Name: "a", Report: rep(0, 0, 4)}, {Name: "b", Report: rep(0, 0, 2)}}, 1, VerdictInconclusive, "no settled cells (6 unsettled)"},
		{"cells of all shapes count together", []ShapeResult{{Name: "a", Report: rep(2, 0, 0)}, {Name: "b", Report: rep(2, 0, 0)}}, 4, VerdictMatch, ""},
		{"below the minimum", []ShapeResult{{Name: "a", Report: rep(2, 0, 0)}, {Name: "b", Skipped: "x"}}, 3, VerdictInconclusive, "fewer than the minimum 3"},
		{"one shape mismatches", []ShapeResult{{Name: "a", Report: rep(5, 0, 0)}, {Name: "b", Report: rep(5, 1, 0)}}, 1, VerdictMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &MultiReport{Shapes: tt.shapes}
			Combine(m, tt.min, 10*time.Minute)
			if m.Verdict != tt.want || !strings.Contains(m.Reason, tt.reason) || m.Schema != MultiSchema {
				t.Errorf("verdict %s (%q), want %s (%q)", m.Verdict, m.Reason, tt.want, tt.reason)
			}
			var b strings.Builder
			if err := m.Text(&b); err != nil || !strings.Contains(b.String(), "verdict: "+tt.want.Upper()) {
				t.Errorf("text: %v\n%s", err, b.String())
			}
		})
	}
}
