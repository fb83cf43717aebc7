package faults

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// nextgenStores is nextgen's Elasticsearch rollups.
type nextgenStores struct {
	es        *esindex.Client
	reg       *rollup.Registry
	customers *pixel.Customers
}

// stored reads customer's documents of the scope: 5-minute ones in
// [from5, to5), daily ones in [day0, day1), both families.
func (n *nextgenStores) stored(ctx context.Context, customer string, from5, to5, day0, day1 time.Time) (map[rollup.Key]*rollup.Cell, error) {
	out := map[rollup.Key]*rollup.Cell{}
	for _, fam := range esindex.Families {
		for _, g := range []struct {
			g        rollup.Granularity
			from, to time.Time
		}{{rollup.FiveMinutes, from5, to5}, {rollup.OneDay, day0, day1}} {
			err := n.es.Scan(ctx, n.reg, g.g, esindex.Filter{Family: fam, Customer: customer, From: g.from, To: g.to}, func(c *rollup.Cell) error {
				out[c.Key] = c
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("read stored rollups: %w", err)
			}
		}
	}
	return out, nil
}

// plant rewrites the documents that differ from what the engine would
// have written for the faulted stream (DayMissing: deletes the day's
// daily documents) and returns the undo and the keys it changed.
func (n *nextgenStores) plant(ctx context.Context, f Fault, events []Event) (Undo, []rollup.Key, error) {
	from5, to5, day0, day1 := scope(f)
	if f.Kind == DayMissing {
		from5, to5, day0, day1 = f.Day(), f.Day(), f.Day(), f.Day().Add(24*time.Hour)
	}
	if err := n.es.Refresh(ctx); err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	stored, err := n.stored(ctx, f.Customer, from5, to5, day0, day1)
	if err != nil {
		return nil, nil, err
	}
	want := map[rollup.Key]*rollup.Cell{}
	if f.Kind != DayMissing {
		r := rollup.New(n.customers, rollup.Options{Registry: n.reg, Sites: true})
		for _, e := range Transform(f, events) {
			if err := r.Add(e.Partition, rollup.NoOffset, &e.Event); err != nil {
				return nil, nil, err
			}
		}
		for _, c := range r.Cells() {
			if inScope(c.Key, from5, to5, day0, day1) {
				want[c.Key] = c
			}
		}
	}
	// A new document takes the highest watermark stored for its partition:
	// the engine has applied every record up to it.
	mark := map[int32]int64{}
	for k, c := range stored {
		mark[k.Partition] = max(mark[k.Partition], c.Offset)
	}
	var writes []*rollup.Cell
	var deletes []*rollup.Cell
	var changed []rollup.Key
	orig := map[rollup.Key]*rollup.Cell{}
	for k, w := range want {
		s := stored[k]
		if s != nil {
			w.Offset = s.Offset
		} else {
			m, ok := mark[k.Partition]
			if !ok {
				return nil, nil, fmt.Errorf("no stored document of partition %d to take a watermark from", k.Partition)
			}
			w.Offset = m
		}
		if s != nil && bytes.Equal(esindex.AppendDoc(nil, s), esindex.AppendDoc(nil, w)) {
			continue
		}
		writes = append(writes, w)
		orig[k] = s
		changed = append(changed, k)
	}
	for k, s := range stored {
		if want[k] == nil {
			deletes = append(deletes, s)
			orig[k] = s
			changed = append(changed, k)
		}
	}
	if err := n.apply(ctx, writes, deletes); err != nil {
		return nil, nil, err
	}
	undo := func(ctx context.Context) error {
		var back, gone []*rollup.Cell
		for k, s := range orig {
			if s != nil {
				back = append(back, s)
			} else {
				gone = append(gone, want[k])
			}
		}
		return n.apply(ctx, back, gone)
	}
	return undo, changed, nil
}

func inScope(k rollup.Key, from5, to5, day0, day1 time.Time) bool {
	b := k.BucketStart()
	if k.Granularity == rollup.OneDay {
		return !b.Before(day0) && b.Before(day1)
	}
	return !b.Before(from5) && b.Before(to5)
}

// apply writes cells and deletes the documents of deletes, then refreshes.
func (n *nextgenStores) apply(ctx context.Context, cells, deletes []*rollup.Cell) error {
	writes := make([]esindex.Write, 0, len(cells))
	for _, c := range cells {
		writes = append(writes, esindex.Write{Index: n.es.Names.KeyIndex(c.Key), ID: docID(n.reg, c), Doc: esindex.AppendDoc(nil, c)})
	}
	for lo := 0; lo < len(writes); lo += 500 {
		res, err := n.es.Bulk(ctx, writes[lo:min(lo+500, len(writes))])
		if err != nil {
			return fmt.Errorf("write rollups: %w", err)
		}
		for i, r := range res {
			if !r.OK() {
				return fmt.Errorf("write rollup %s: %d %s: %s", writes[lo+i].ID, r.Status, r.ErrType, r.ErrReason)
			}
		}
	}
	for _, c := range deletes {
		res, err := esapi.DeleteRequest{Index: n.es.Names.KeyIndex(c.Key), DocumentID: docID(n.reg, c)}.Do(ctx, n.es.ES)
		if err != nil {
			return fmt.Errorf("delete rollup: %w", err)
		}
		res.Body.Close()
		if res.IsError() && res.StatusCode != 404 {
			return fmt.Errorf("delete rollup %s: %s", docID(n.reg, c), res.Status())
		}
	}
	if err := n.es.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

func docID(reg *rollup.Registry, c *rollup.Cell) string {
	if c.Key.Site() {
		return esindex.DocID(reg, c.Key, nil)
	}
	return esindex.DocID(reg, c.Key, c.Dims())
}
