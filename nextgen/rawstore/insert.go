package rawstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gocql/gocql"
	"golang.org/x/sync/errgroup"
)

// Outcome is what Insert decided about one record.
type Outcome uint8

const (
	// Fresh: the record is its eid's origin (written now, or already stored
	// from this very partition and offset by a run that crashed).
	Fresh Outcome = iota + 1
	// Duplicate: another record with the same eid came first.
	Duplicate
)

func (o Outcome) String() string {
	switch o {
	case Fresh:
		return "fresh"
	case Duplicate:
		return "duplicate"
	}
	return "unknown"
}

type origin struct {
	partition int32
	offset    int64
}

type group struct {
	customer string
	hour     time.Time
}

// Insert stores the records that are the origin of their eid and reports,
// per record, whether it is Fresh or a Duplicate. Records must be in
// partition order (as read); within the batch the first occurrence of an
// eid is the origin. After Insert returns, a later batch sees these writes.
func (s *Store) Insert(ctx context.Context, recs []Record) ([]Outcome, error) {
	return s.insert(ctx, recs, nil)
}

// insert is Insert; d, when not nil, knows eids that need no lookup and
// learns the eids written.
func (s *Store) insert(ctx context.Context, recs []Record, d *Deduper) ([]Outcome, error) {
	out := make([]Outcome, len(recs))
	first := make(map[string]int, len(recs)) // eid -> index of its first record in the batch
	groups := map[group][]string{}           // eids to look up, by the hour of their first record
	for i := range recs {
		eid := recs[i].Event.EID
		if _, seen := first[eid]; seen {
			out[i] = Duplicate
			continue
		}
		first[eid] = i
		if d != nil && d.surelyNew(&recs[i]) {
			continue
		}
		g := group{recs[i].Event.Customer, recs[i].Hour()}
		groups[g] = append(groups[g], eid)
	}
	stored, err := s.lookup(ctx, groups)
	if err != nil {
		return nil, err
	}
	var writes []int
	for eid, i := range first {
		o, found := stored[eid]
		switch {
		case !found:
			out[i] = Fresh
			writes = append(writes, i)
		case o.partition == recs[i].Partition && o.offset == recs[i].Offset:
			out[i] = Fresh // replay of the origin: already stored
		default:
			out[i] = Duplicate
		}
	}
	if err := s.write(ctx, recs, writes); err != nil {
		return nil, err
	}
	if d != nil {
		looked := countLooked(groups)
		d.learn(recs, writes, len(first)-looked, looked)
	}
	return out, nil
}

func countLooked(groups map[group][]string) int {
	n := 0
	for _, eids := range groups {
		n += len(eids)
	}
	return n
}

// lookup finds the stored origin of eids in each group's hour and the
// LookbackHours-1 hours before it.
func (s *Store) lookup(ctx context.Context, groups map[group][]string) (map[string]origin, error) {
	type result struct {
		eid string
		o   origin
	}
	results := make(chan []result, 64)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.Concurrency)
	done := make(chan map[string]origin, 1)
	go func() {
		found := map[string]origin{}
		for rs := range results {
			for _, r := range rs {
				// The earliest offset is the origin if an eid was stored twice
				// across hours (it cannot be, but be deterministic).
				if prev, ok := found[r.eid]; !ok || r.o.offset < prev.offset {
					found[r.eid] = r.o
				}
			}
		}
		done <- found
	}()
	for grp, eids := range groups {
		for back := 0; back < s.o.LookbackHours; back++ {
			hour := grp.hour.Add(-time.Duration(back) * time.Hour)
			for lo := 0; lo < len(eids); lo += s.o.LookupChunk {
				chunk := eids[lo:min(lo+s.o.LookupChunk, len(eids))]
				g.Go(func() error {
					it := s.s.Query(`SELECT eid, kafka_partition, kafka_offset FROM raw_events WHERE customer = ? AND hour = ? AND eid IN ?`,
						grp.customer, hour, chunk).WithContext(gctx).Consistency(s.o.Consistency).Idempotent(true).Iter()
					var (
						rs  []result
						r   result
						off int64
						p   int32
					)
					for it.Scan(&r.eid, &p, &off) {
						r.o = origin{p, off}
						rs = append(rs, r)
					}
					if err := it.Close(); err != nil {
						return fmt.Errorf("look up eids %s %s: %w", grp.customer, hour.Format(time.RFC3339), err)
					}
					results <- rs
					return nil
				})
			}
		}
	}
	err := g.Wait()
	close(results)
	found := <-done
	return found, err
}

// insertCQL writes three cells per row besides the key: Cassandra's cost
// is per cell as much as per byte, so the receive time and event type stay
// inside the event JSON rather than in columns of their own.
const insertCQL = `INSERT INTO raw_events (customer, hour, eid, kafka_partition, kafka_offset, event) VALUES (?, ?, ?, ?, ?, ?)`

// write stores recs[idx...] in single-partition unlogged batches of at
// most BatchBytes. Cassandra applies such a batch as one mutation, and its
// batch_size_warn/fail thresholds apply only to batches that span
// partitions.
func (s *Store) write(ctx context.Context, recs []Record, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	byPart := map[group][]int{}
	for _, i := range idx {
		g := group{recs[i].Event.Customer, recs[i].Hour()}
		byPart[g] = append(byPart[g], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.Concurrency)
	for _, part := range byPart {
		// In clustering (eid) order: Cassandra sorts each batch's rows
		// before merging them into the memtable, which costs less on sorted
		// input, and each batch then covers a narrower range of the
		// partition. text compares bytewise, as Go strings do.
		slices.SortFunc(part, func(a, b int) int { return strings.Compare(recs[a].Event.EID, recs[b].Event.EID) })
		for len(part) > 0 {
			n, size := 0, 0
			for n < len(part) && (n == 0 || size+len(recs[part[n]].Value)+128 <= s.o.BatchBytes) {
				size += len(recs[part[n]].Value) + 128
				n++
			}
			chunk := part[:n]
			part = part[n:]
			g.Go(func() error {
				b := s.s.NewBatch(gocql.UnloggedBatch).WithContext(gctx)
				b.SetConsistency(s.o.Consistency)
				for _, i := range chunk {
					r := &recs[i]
					b.Query(insertCQL, r.Event.Customer, r.Hour(), r.Event.EID, r.Partition, r.Offset, r.Value)
				}
				if err := s.s.ExecuteBatch(b); err != nil {
					return fmt.Errorf("write raw events %s: %w", recs[chunk[0]].Event.Customer, err)
				}
				return nil
			})
		}
	}
	return g.Wait()
}
