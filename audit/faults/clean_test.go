package faults_test

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/loadgen"
)

// TestCleanRunIsSilent is the short clean run of `make verify`, run in CI:
// loadgen traffic through the whole data path, no fault planted, and the
// audit replay (every question, every customer, settled by a test clock)
// reports nothing: every settled cell both right, the raw store equal to
// the archive hour by hour, and no cell judged outside the rules.
func TestCleanRunIsSilent(t *testing.T) {
	started := time.Now()
	h := newHarness(t, loadgen.Options{Seed: 41, Events: 3000})
	reps := h.waitClean(t, 2*time.Minute)
	cells := 0
	for c, r := range reps {
		if r.Counts["both right"] == 0 || len(r.Faults()) != 0 || len(r.RawStore) == 0 {
			t.Errorf("%s: %s: the clean run compared nothing or found something", c, describe(r, 5))
		}
		cells += r.Counts["both right"]
	}
	t.Logf("clean run: %d events, %d cells both right, 0 faults, %.1fs", h.sent, cells, time.Since(started).Seconds())
}
