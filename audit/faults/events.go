package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/replay"
)

// days is the whole UTC days holding [from, to).
func days(from, to time.Time) (time.Time, time.Time) {
	d0 := from.UTC().Truncate(24 * time.Hour)
	d1 := to.UTC().Add(-time.Nanosecond).Truncate(24 * time.Hour).Add(24 * time.Hour)
	return d0, d1
}

// scope is what a fault can change: the 5-minute buckets [From, To+5m)
// (a shift moves events one bucket on) and the UTC days holding them.
func scope(f Fault) (from5, to5, day0, day1 time.Time) {
	from5, to5 = f.From.UTC(), f.To.UTC().Add(5*time.Minute)
	day0, day1 = days(from5, to5)
	return
}

// ReadEvents reads customer's archived events received in the UTC days
// [day0, day1), each once (the first occurrence of an eid in archive
// order, as nextgen and the replay count it). A part that does not match
// its manifest is an error: the truth to plant from would be incomplete.
func ReadEvents(ctx context.Context, sink archive.Sink, customer string, day0, day1 time.Time) ([]Event, error) {
	seen := map[string]struct{}{}
	var out []Event
	refused, _, err := replay.ReadArchive(ctx, sink, customer, day0, day1, replay.ReadOptions{}, func(p *replay.Part) error {
		for _, e := range p.Events {
			if _, dup := seen[e.EID]; dup || e.Customer != customer || e.ReceivedAt.Before(day0) || !e.ReceivedAt.Before(day1) {
				continue
			}
			seen[e.EID] = struct{}{}
			out = append(out, Event{Partition: int32(p.Manifest.Partition), Event: e})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("read archive: part %s refused: %s", refused[0].Key, refused[0].Reason)
	}
	return out, nil
}
