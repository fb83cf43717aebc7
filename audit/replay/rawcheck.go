package replay

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/nextgen/rawstore"
)

// RawReader reads nextgen's raw store one customer-hour at a time
// (*rawstore.Store).
type RawReader interface {
	Each(ctx context.Context, customer string, hour time.Time, fn func(rawstore.Record) error) error
}

// Raw store statuses of an hour.
const (
	RawOK        = "ok"
	RawMismatch  = "nextgen wrong"
	RawUnsettled = "unsettled"
)

// RawHour compares one hour of the archive with nextgen's raw store: the
// distinct events of each, by count and order-free hash (ledger.Tally).
type RawHour struct {
	Hour    time.Time `json:"hour"`
	Status  string    `json:"status"`
	Archive TallyJSON `json:"archive"`
	Raw     TallyJSON `json:"raw_store"`
	// Missing are archive events the raw store lacks; Extra raw rows the
	// archive lacks; samples of each are capped.
	Missing       int      `json:"missing"`
	Extra         int      `json:"extra"`
	MissingSample []string `json:"missing_sample,omitempty"`
	ExtraSample   []string `json:"extra_sample,omitempty"`
	Reason        string   `json:"reason,omitempty"`
}

// TallyJSON is a tally as the ledger prints it: count and 16 hex digits.
type TallyJSON struct {
	Count int64  `json:"count"`
	Hash  string `json:"hash"`
}

func tallyJSON(t ledger.Tally) TallyJSON {
	return TallyJSON{Count: t.Count, Hash: archive.HashHex(t.Hash)}
}

const rawSampleCap = 10

// CheckRaw compares every hour of the truth (built with KeepEIDs) with
// the raw store. An hour is judged when it is settled at now (ended at
// least settle ago) and none of its parts was refused.
func CheckRaw(ctx context.Context, raw RawReader, tr *Truth, now time.Time, settle time.Duration) ([]RawHour, error) {
	var hours []time.Time
	for h := tr.From.Truncate(time.Hour); h.Before(tr.To); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	out := make([]RawHour, 0, len(hours))
	for _, h := range hours {
		ev := tr.Hours[h]
		if ev == nil {
			ev = &HourEvidence{EIDs: map[string]struct{}{}}
		}
		var rt ledger.Tally
		stored := map[string]struct{}{}
		err := raw.Each(ctx, tr.Customer, h, func(r rawstore.Record) error {
			rt.Add(r.Event.EID)
			stored[r.Event.EID] = struct{}{}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("raw store %s %s: %w", tr.Customer, h.Format(time.RFC3339), err)
		}
		if ev.Tally.Count == 0 && rt.Count == 0 {
			continue
		}
		rh := RawHour{Hour: h, Archive: tallyJSON(ev.Tally), Raw: tallyJSON(rt), Status: RawOK}
		for eid := range ev.EIDs {
			if _, ok := stored[eid]; !ok {
				rh.Missing++
				rh.MissingSample = append(rh.MissingSample, eid)
			}
		}
		for eid := range stored {
			if _, ok := ev.EIDs[eid]; !ok {
				rh.Extra++
				rh.ExtraSample = append(rh.ExtraSample, eid)
			}
		}
		rh.MissingSample, rh.ExtraSample = capSorted(rh.MissingSample), capSorted(rh.ExtraSample)
		switch {
		case tr.Damaged[h]:
			rh.Status, rh.Reason = RawUnsettled, "truth incomplete: an archive part of this hour was refused"
		case h.Add(time.Hour).Add(settle).After(now):
			rh.Status, rh.Reason = RawUnsettled, "hour not settled"
		case rt != ev.Tally:
			rh.Status = RawMismatch
			rh.Reason = fmt.Sprintf("raw store lacks %d archive events and has %d the archive lacks", rh.Missing, rh.Extra)
		}
		out = append(out, rh)
	}
	return out, nil
}

func capSorted(s []string) []string {
	slices.Sort(s)
	if len(s) > rawSampleCap {
		s = s[:rawSampleCap]
	}
	return s
}
