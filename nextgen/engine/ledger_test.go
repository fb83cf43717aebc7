package engine

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

func TestLedgerTallies(t *testing.T) {
	h := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rec := func(off int64, cust string, hour time.Time, eid string, rolled bool) ledgerRec {
		return ledgerRec{offset: off, key: ledger.KeyOf(cust, hour), hash: ledger.HashEID(eid), rollup: rolled}
	}
	tallyOf := func(eids ...string) ledger.Tally {
		var t ledger.Tally
		for _, e := range eids {
			t.Add(e)
		}
		return t
	}
	recs := []ledgerRec{
		rec(10, "a", h, "e1", true),
		rec(11, "b", h, "e2", false), // unknown customer: raw only
		rec(12, "a", h.Add(time.Hour), "e3", true),
		rec(13, "a", h.Add(time.Hour), "e4", true), // at upTo: not yet
	}
	raw, rolled := tallies(recs, 13, []string{"a", "c"})
	if got := raw[ledger.Key{Customer: "a", Hour: h}]; got != tallyOf("e1") {
		t.Errorf("raw a@h = %+v", got)
	}
	if got := raw[ledger.Key{Customer: "b", Hour: h}]; got != tallyOf("e2") {
		t.Errorf("raw b@h = %+v", got)
	}
	if _, ok := rolled[ledger.Key{Customer: "b", Hour: h}]; ok {
		t.Errorf("rollup has the unknown customer's record")
	}
	if got := rolled[ledger.Key{Customer: "a", Hour: h.Add(time.Hour)}]; got != tallyOf("e3") {
		t.Errorf("rollup a@h+1 = %+v (the record at upTo must wait)", got)
	}
	// Zero rows for every customer and hour around the records, so that a
	// rewrite of the batch clears what an earlier, longer write held.
	for _, c := range []string{"a", "c"} {
		for _, hh := range []time.Time{h.Add(-time.Hour), h, h.Add(time.Hour), h.Add(2 * time.Hour)} {
			if _, ok := raw[ledger.Key{Customer: c, Hour: hh}]; !ok {
				t.Errorf("raw has no row for %s@%s", c, hh.Format(time.RFC3339))
			}
			if _, ok := rolled[ledger.Key{Customer: c, Hour: hh}]; !ok {
				t.Errorf("rollup has no row for %s@%s", c, hh.Format(time.RFC3339))
			}
		}
	}
	if len(raw) != 9 || len(rolled) != 8 { // 2 customers × 4 hours, plus b's record in raw
		t.Errorf("raw %d rows, rollup %d rows; want 9 and 8", len(raw), len(rolled))
	}
	if r, _ := tallies(recs, 10, []string{"a"}); len(r) != 0 {
		t.Errorf("nothing before upTo: %v", r)
	}
}
