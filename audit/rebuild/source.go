package rebuild

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/rollup"
)

// source is one day of the archive, verified and rolled up with site
// cells, with the watermark of every (hour, partition) and (day,
// partition) and the raw records of each hour.
type source struct {
	day      time.Time
	truth    *replay.Truth
	hourMark map[hourPartition]int64
	dayMark  map[int32]int64
	records  map[time.Time][]rawstore.Record
}

type hourPartition struct {
	hour      time.Time
	partition int32
}

// read reads and rolls up day's archive, at most Options.Rate events a
// second.
func (r *run) read(ctx context.Context, day time.Time) (*source, error) {
	src := &source{day: day, hourMark: map[hourPartition]int64{}, dayMark: map[int32]int64{}, records: map[time.Time][]rawstore.Record{}}
	var waitErr error
	onPart := func(p *replay.Part) {
		m := p.Manifest
		hp := hourPartition{m.Hour, int32(m.Partition)}
		src.hourMark[hp] = max(src.hourMark[hp], m.LastOffset)
		if w, ok := src.dayMark[hp.partition]; !ok || m.LastOffset > w {
			src.dayMark[hp.partition] = m.LastOffset
		}
		if r.o.Raw != nil {
			for i := range p.Events {
				// The archive keeps records, not their offsets: a restored
				// row's offset is unknown (-1).
				src.records[m.Hour] = append(src.records[m.Hour], rawstore.Record{Event: p.Events[i], Value: p.Values[i], Partition: hp.partition, Offset: -1})
			}
		}
		r.res.Events += int64(len(p.Events))
		r.m.events.Add(float64(len(p.Events)))
		if r.lim != nil && waitErr == nil {
			for n := len(p.Events); n > 0 && waitErr == nil; {
				k := min(n, r.lim.Burst())
				waitErr = r.lim.WaitN(ctx, k)
				n -= k
			}
		}
	}
	tr, err := replay.Build(ctx, r.o.Sink, r.o.Customers, r.id.Customer, day, day.Add(24*time.Hour), replay.BuildOptions{
		ReadOptions: replay.ReadOptions{Progress: r.o.Progress, KeepValues: r.o.Raw != nil}, Sites: true, OnPart: onPart,
	})
	if err != nil {
		return nil, fmt.Errorf("rebuild %s %s: %w", r.id.Customer, day.Format("2006-01-02"), err)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("rebuild: rate limit: %w", waitErr)
	}
	r.res.Refused = append(r.res.Refused, tr.Refused...)
	for _, ref := range tr.Refused {
		r.o.Logger.Warn("archive part refused", "part", ref.Key, "reason", ref.Reason)
	}
	src.truth = tr
	return src, nil
}

func (s *source) dayDamaged() bool { return len(s.truth.Damaged) > 0 }

// mark is the watermark of a cell of granularity g: W of its partition
// in its hour (5m) or day (1d), and whether the archive has any part
// there.
func (s *source) mark(g rollup.Granularity, bucket time.Time, partition int32) (int64, bool) {
	if g == rollup.OneDay {
		w, ok := s.dayMark[partition]
		return w, ok
	}
	w, ok := s.hourMark[hourPartition{bucket.Truncate(time.Hour), partition}]
	return w, ok
}

// restoreRaw puts back hour's raw rows the raw store lacks.
func (r *run) restoreRaw(ctx context.Context, src *source, h time.Time) error {
	recs := src.records[h]
	if r.o.Raw == nil || len(recs) == 0 {
		return nil
	}
	// An hour whose rows already equal the archive's (count and order-free
	// hash) is left alone; otherwise Insert writes the eids it has nowhere
	// in its lookback and leaves stored ones as they are.
	var stored ledger.Tally
	have := map[string]struct{}{}
	err := r.o.Raw.Each(ctx, r.id.Customer, h, func(rec rawstore.Record) error {
		stored.Add(rec.Event.EID)
		have[rec.Event.EID] = struct{}{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild: read raw rows of %s: %w", h.Format(time.RFC3339), err)
	}
	if ev := src.truth.Hours[h]; ev != nil && ev.Tally == stored {
		return nil
	}
	restored := 0
	for lo := 0; lo < len(recs); lo += 2000 {
		chunk := recs[lo:min(lo+2000, len(recs))]
		out, err := r.o.Raw.Insert(ctx, chunk)
		if err != nil {
			return fmt.Errorf("rebuild: restore raw rows of %s: %w", h.Format(time.RFC3339), err)
		}
		for i, oc := range out {
			// Fresh is also a record whose row is already its own (a row
			// restored before): count only eids the hour lacked.
			if _, ok := have[chunk[i].Event.EID]; oc == rawstore.Fresh && !ok {
				restored++
				have[chunk[i].Event.EID] = struct{}{}
			}
		}
	}
	r.res.RawRestored += restored
	r.m.raw.Add(float64(restored))
	return nil
}
