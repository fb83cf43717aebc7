package rebuild

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
)

// maxConflicts bounds how often one document is read and judged again
// after a refused conditional write.
const maxConflicts = 5

// write rebuilds the documents of granularity g with buckets in
// [from, to): the archive's cells with their watermarks, and stored
// documents the archive has no events for, emptied.
func (r *run) write(ctx context.Context, src *source, g rollup.Granularity, from, to time.Time) error {
	reg := src.truth.Rollup.Registry()
	want := map[rollup.Key]*rollup.Cell{}
	for _, c := range src.truth.Rollup.Cells() {
		if c.Key.Granularity != g || c.Key.Bucket < from.Unix() || c.Key.Bucket >= to.Unix() {
			continue
		}
		w, ok := src.mark(g, c.BucketStart(), c.Key.Partition)
		if !ok {
			return fmt.Errorf("rebuild: no watermark for %+v", c.Key)
		}
		c.Offset = w
		want[c.Key] = c
	}
	for _, fam := range esindex.Families {
		err := r.o.ES.Scan(ctx, reg, g, esindex.Filter{Family: fam, Customer: r.id.Customer, From: from, To: to}, func(c *rollup.Cell) error {
			if _, ok := want[c.Key]; ok || isEmpty(c) {
				return nil
			}
			// Empty it only if the archive holds every record the document
			// counts: a document whose watermark is beyond the archive's (the
			// engine counted records of parts not closed yet) is ahead of
			// the archive, not wrong.
			w, ok := src.mark(g, c.BucketStart(), c.Key.Partition)
			if !ok || c.Offset > w {
				r.res.Ahead++
				r.m.docs.WithLabelValues("ahead").Inc()
				return nil
			}
			e := reg.NewCell(c.Key)
			e.Offset = w
			want[c.Key] = e
			r.res.Emptied++
			return nil
		})
		if err != nil {
			return fmt.Errorf("rebuild: scan stored documents: %w", err)
		}
	}
	cells := make([]*rollup.Cell, 0, len(want))
	parts := map[int]bool{}
	for _, c := range want {
		cells = append(cells, c)
		parts[int(c.Key.Partition)] = true
	}
	slices.SortFunc(cells, func(a, b *rollup.Cell) int { return rollup.CompareKeys(a.Key, b.Key) })
	if r.o.Committed != nil && len(cells) > 0 {
		committed, err := r.o.Committed(ctx, sortedKeys(parts))
		if err != nil {
			return fmt.Errorf("rebuild: read the engine's committed offsets: %w", err)
		}
		kept := cells[:0]
		for _, c := range cells {
			if committed[int(c.Key.Partition)] > c.Offset {
				kept = append(kept, c)
				continue
			}
			r.res.Behind++
			r.m.docs.WithLabelValues("behind").Inc()
		}
		if n := len(cells) - len(kept); n > 0 {
			r.o.Logger.Warn("documents left alone: the engine has not committed past their watermark yet", "docs", n, "granularity", g, "from", from)
		}
		cells = kept
	}
	for lo := 0; lo < len(cells); lo += r.o.BulkDocs {
		if err := r.writeChunk(ctx, cells[lo:min(lo+r.o.BulkDocs, len(cells))]); err != nil {
			return err
		}
	}
	return nil
}

// writeChunk reads the stored documents of cells and writes, each on the
// token it read, those whose content differs; refused writes are judged
// again on what is stored then.
func (r *run) writeChunk(ctx context.Context, cells []*rollup.Cell) error {
	reg := cells[0].Registry()
	pending := cells
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > maxConflicts {
			return fmt.Errorf("rebuild: %d documents still refused after %d attempts (is another rebuild running?)", len(pending), maxConflicts)
		}
		refs := make([]esindex.DocRef, len(pending))
		for i, c := range pending {
			refs[i] = esindex.DocRef{Index: r.o.ES.Names.KeyIndex(c.Key), ID: esindex.DocID(reg, c.Key, c.Dims())}
		}
		got, err := r.o.ES.MGet(ctx, refs)
		if err != nil {
			return fmt.Errorf("rebuild: read documents: %w", err)
		}
		var writes []esindex.Write
		var writing []*rollup.Cell
		for i, c := range pending {
			w := esindex.Write{Index: refs[i].Index, ID: refs[i].ID, Doc: esindex.AppendDoc(nil, c), Create: !got[i].Found}
			if got[i].Found {
				stored, err := esindex.DecodeDoc(reg, got[i].Source)
				if err != nil {
					return fmt.Errorf("rebuild: stored document %s: %w", refs[i].ID, err)
				}
				switch {
				case stored.Offset > c.Offset:
					r.res.Ahead++
					r.m.docs.WithLabelValues("ahead").Inc()
					continue
				case sameContent(stored, c):
					r.res.Unchanged++
					r.m.docs.WithLabelValues("unchanged").Inc()
					continue
				}
				w.IfSeqNo, w.IfPrimaryTerm = got[i].SeqNo, got[i].PrimaryTerm
			} else if isEmpty(c) {
				r.res.Unchanged++ // an emptied document deleted meanwhile
				continue
			}
			writes = append(writes, w)
			writing = append(writing, c)
		}
		if len(writes) == 0 {
			return nil
		}
		res, err := r.o.ES.Bulk(ctx, writes)
		if err != nil {
			return fmt.Errorf("rebuild: write documents: %w", err)
		}
		pending = nil
		for i, w := range res {
			switch {
			case w.OK():
				r.res.Written++
				r.m.docs.WithLabelValues("written").Inc()
			case w.Conflict():
				r.res.Conflicts++
				r.m.docs.WithLabelValues("conflict").Inc()
				pending = append(pending, writing[i])
			default:
				return fmt.Errorf("rebuild: write %s: %d %s: %s", writes[i].ID, w.Status, w.ErrType, w.ErrReason)
			}
		}
	}
	return nil
}

// sameContent reports whether two cells of one key hold the same values,
// watermark aside.
func sameContent(stored, c *rollup.Cell) bool {
	off := stored.Offset
	stored.Offset = c.Offset
	same := bytes.Equal(esindex.AppendDoc(nil, stored), esindex.AppendDoc(nil, c))
	stored.Offset = off
	return same
}

// isEmpty reports whether a cell holds nothing.
func isEmpty(c *rollup.Cell) bool {
	for _, m := range c.Registry().Metrics() {
		if c.Sum(m.Name) != 0 || c.Count(m.Name) != 0 {
			return false
		}
	}
	return true
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
