package faults_test

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

// TestCleanRunIsSilent is the short clean run of `make verify`, run in CI:
// loadgen traffic through the whole data path, no fault planted, and the
// audit replay (every question, every customer, settled by a test clock)
// reports nothing: every settled cell both right, the raw store equal to
// the archive hour by hour, and no cell judged outside the rules; and the
// shadow comparer, having compared its whole matrix for every customer,
// holds 0 open mismatches outside the expected-difference rules.
func TestCleanRunIsSilent(t *testing.T) {
	started := time.Now()
	h := newHarness(t, loadgen.Options{Seed: 41, Events: 3000})
	reps := h.waitClean(t, 2*time.Minute) // both systems caught up
	h.startComparer(t)
	h.waitNoMismatch(t, 2*time.Minute)
	cells := 0
	for c, r := range reps {
		if r.Counts["both right"] == 0 || len(r.Faults()) != 0 || len(r.RawStore) == 0 {
			t.Errorf("%s: %s: the clean run compared nothing or found something", c, describe(r, 5))
		}
		cells += r.Counts["both right"]
	}
	n, matched, expected := 0, 0, 0
	for _, c := range h.s.Customers.IDs() {
		cs, err := h.evidence.Comparisons(testenv.Context(t, time.Minute), c, started.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, cmp := range cs {
			matched += cmp.Tally.Matched
			expected += cmp.Tally.Expected
			if cmp.Tally.Mismatches != 0 {
				t.Errorf("%s: comparison %s of %s has %d mismatches", c, cmp.ID, cmp.Shape, cmp.Tally.Mismatches)
			}
		}
		n += len(cs)
	}
	if n == 0 || matched == 0 {
		t.Errorf("the comparer compared nothing real: %d comparisons, %d cells matched", n, matched)
	}
	t.Logf("clean run: %d events, audit: %d cells both right, 0 faults; comparer: %d comparisons, %d cells matched, %d expected by the rules, 0 mismatches; %.1fs", h.sent, cells, n, matched, expected, time.Since(started).Seconds())
}
