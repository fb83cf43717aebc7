package archive

import (
	"context"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// Subset picks the records of a truth tally: nil takes every record; a
// subset of legacy's (post page views) lets the ledger compare legacy with
// what it should have counted.
type Subset func(record []byte) bool

// Truth tallies, per hour of [from, to), the distinct event ids of
// customer's archived records: each id counts once, in the hour of its
// first archived record, for every subset it belongs to. Records from
// lookback before from are read too, so a retry of an older event is not
// taken for a new one. This is the reference a counting stage (nextgen's
// raw store, legacy) is compared with: a stage counting more than the
// truth counted some events twice. Parts are read in hour, partition,
// offset order; a part that fails to read is an error (run archive verify).
func Truth(ctx context.Context, sink Sink, customer string, from, to time.Time, lookback time.Duration, subsets map[string]Subset) (map[string]map[time.Time]ledger.Tally, error) {
	mans, _, err := Manifests(ctx, sink, customer, from.Add(-lookback), to)
	if err != nil {
		return nil, err
	}
	out := map[string]map[time.Time]ledger.Tally{}
	seen := map[string]map[string]struct{}{}
	for name := range subsets {
		out[name], seen[name] = map[time.Time]ledger.Tally{}, map[string]struct{}{}
	}
	start := from.UTC().Truncate(time.Hour)
	for _, m := range mans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := ReadPart(ctx, sink, m, func(line []byte) error {
			ev, err := decodeHead(line)
			if err != nil || ev.Customer != customer {
				return nil
			}
			h := ev.ReceivedAt.UTC().Truncate(time.Hour)
			for name, keep := range subsets {
				if keep != nil && !keep(line) {
					continue
				}
				if _, dup := seen[name][ev.EID]; dup {
					continue
				}
				seen[name][ev.EID] = struct{}{}
				if h.Before(start) || !h.Before(to) {
					continue
				}
				t := out[name][h]
				t.Add(ev.EID)
				out[name][h] = t
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
