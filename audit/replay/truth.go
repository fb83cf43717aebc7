package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// DefaultLookback is how far before the scope the replay reads only to
// learn event ids: nextgen's raw store looks for an eid's earlier
// occurrence in the record's hour and the hour before it
// (rawstore.Options.LookbackHours = 2), so a retry whose first occurrence
// lies just before the scope is a duplicate there too.
const DefaultLookback = time.Hour

// Truth is the ground truth of a scope: the archive's events, counted
// once per eid (the first occurrence in archive order wins, as in
// nextgen), aggregated by rollup, the stream engine's code, at 5m and 1d.
type Truth struct {
	Customer string
	// From and To are the scope, aligned outwards to 5-minute buckets.
	From, To time.Time
	Rollup   *rollup.Rollup
	Refused  []Refusal
	Orphans  []string
	// Parts and Records count the accepted parts of the scope's hours and
	// their records; Events the distinct events of the scope; Duplicates
	// the records skipped because their eid came earlier.
	Parts, Records, Events, Duplicates int64
	// Hours holds, per UTC hour of the scope, the distinct events of the
	// whole hour: what nextgen's raw store must hold for it.
	Hours map[time.Time]*HourEvidence
	// Damaged lists the hours with a refused part: their truth is
	// incomplete, so their buckets are not judged.
	Damaged map[time.Time]bool
}

// HourEvidence is the archive's evidence for one hour.
type HourEvidence struct {
	Tally ledger.Tally
	Parts int
	// EIDs are the hour's distinct event ids (kept when asked, for the raw
	// store comparison).
	EIDs map[string]struct{}
}

// BuildOptions tune Build.
type BuildOptions struct {
	ReadOptions
	// Lookback is read before the scope only to learn eids (DefaultLookback
	// when 0; negative: none).
	Lookback time.Duration
	// KeepEIDs keeps every hour's eid set in Hours (for the raw store check).
	KeepEIDs bool
	// Sites also builds site cells (the rebuild writes them).
	Sites bool
	// OnPart, when set, is called with every accepted part of the scope
	// after its events were aggregated.
	OnPart func(*Part)
}

// AlignScope widens [from, to) to whole 5-minute buckets.
func AlignScope(from, to time.Time) (time.Time, time.Time) {
	from, to = from.UTC().Truncate(5*time.Minute), to.UTC()
	if t := to.Truncate(5 * time.Minute); !t.Equal(to) {
		to = t.Add(5 * time.Minute)
	}
	return from, to
}

// Build reads customer's archive for [from, to) (aligned by AlignScope)
// and aggregates it into ground truth.
func Build(ctx context.Context, sink archive.Sink, customers *pixel.Customers, customer string, from, to time.Time, o BuildOptions) (*Truth, error) {
	if _, err := customers.Get(customer); err != nil {
		return nil, fmt.Errorf("replay %s: %w", customer, err)
	}
	from, to = AlignScope(from, to)
	if !from.Before(to) {
		return nil, fmt.Errorf("replay %s: empty scope %s..%s", customer, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if o.Lookback == 0 {
		o.Lookback = DefaultLookback
	}
	readFrom := from.Truncate(time.Hour)
	scopeHour := readFrom
	if o.Lookback > 0 {
		readFrom = readFrom.Add(-o.Lookback).Truncate(time.Hour)
	}
	tr := &Truth{
		Customer: customer, From: from, To: to,
		Rollup: rollup.New(customers, rollup.Options{KeepDuplicates: true, Sites: o.Sites}),
		Hours:  map[time.Time]*HourEvidence{}, Damaged: map[time.Time]bool{},
	}
	seen := map[string]struct{}{}
	refused, orphans, err := ReadArchive(ctx, sink, customer, readFrom, to, o.ReadOptions, func(p *Part) error {
		inScope := !p.Manifest.Hour.Before(scopeHour)
		if inScope {
			tr.Parts++
			tr.Records += int64(len(p.Events))
		}
		ev := tr.hour(p.Manifest.Hour, inScope, o.KeepEIDs)
		for i := range p.Events {
			e := &p.Events[i]
			if _, dup := seen[e.EID]; dup {
				if inScope {
					tr.Duplicates++
				}
				continue
			}
			seen[e.EID] = struct{}{}
			if !inScope {
				continue
			}
			ev.Tally.Add(e.EID)
			if ev.EIDs != nil {
				ev.EIDs[e.EID] = struct{}{}
			}
			if e.ReceivedAt.Before(from) || !e.ReceivedAt.Before(to) {
				continue
			}
			tr.Events++
			if err := tr.Rollup.Add(int32(p.Manifest.Partition), rollup.NoOffset, e); err != nil {
				return err
			}
		}
		if inScope && o.OnPart != nil {
			o.OnPart(p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tr.Orphans = orphans
	for _, r := range refused {
		if !r.Hour.Before(scopeHour) {
			tr.Refused = append(tr.Refused, r)
			tr.Damaged[r.Hour] = true
		}
	}
	return tr, nil
}

// hour returns the evidence of hour h (nil outside the scope).
func (tr *Truth) hour(h time.Time, inScope, keep bool) *HourEvidence {
	if !inScope {
		return &HourEvidence{}
	}
	ev := tr.Hours[h]
	if ev == nil {
		ev = &HourEvidence{}
		if keep {
			ev.EIDs = map[string]struct{}{}
		}
		tr.Hours[h] = ev
	}
	ev.Parts++
	return ev
}

// DamagedBucket reports whether the bucket [start, start+step) overlaps an
// hour with a refused part.
func (tr *Truth) DamagedBucket(start time.Time, step time.Duration) bool {
	for h := start.Truncate(time.Hour); h.Before(start.Add(step)); h = h.Add(time.Hour) {
		if tr.Damaged[h] {
			return true
		}
	}
	return false
}
