package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
)

// flushJob is a snapshot of a partition's dirty documents: absolute
// values, to be bulk-written; once all are written, every record before
// upTo is durable and upTo can be committed.
type flushJob struct {
	entries []*entry
	first   []int64 // each entry's firstDirty when snapshotted
	writes  []esindex.Write
	upTo    int64
	oldest  time.Time // receive time of the oldest event applied since the last snapshot
}

type flushResult struct {
	job     *flushJob
	results []esindex.Written
	err     error
	took    time.Duration
}

// errAhead means another writer stored a newer state of one of this
// partition's documents: this writer lost the partition and must stop.
var errAhead = errors.New("a document was written by a newer owner of the partition")

// snapshot takes the dirty documents out for writing; 1-day documents
// only when daily is set (they are large, with a day's visitor sets, and
// are written every DailyFlushInterval). upTo is the offset every record
// before which is durable once the job is written: the applied position,
// or the first record of a dirty document left out, whichever is lower.
func (p *partition) snapshot(daily bool) *flushJob {
	job := &flushJob{upTo: p.applied, oldest: p.oldest}
	p.oldest = time.Time{}
	left := 0
	for _, en := range p.table.entries {
		if !en.dirty {
			continue
		}
		if !daily && en.cell.Key.Granularity == rollup.OneDay {
			job.upTo = min(job.upTo, en.firstDirty)
			left++
			continue
		}
		en.dirty, en.writing = false, true
		job.entries = append(job.entries, en)
		job.first = append(job.first, en.firstDirty)
		job.writes = append(job.writes, esindex.Write{
			Index: en.index, ID: en.id, Doc: esindex.AppendDoc(nil, en.cell),
			Create: !en.exists, IfSeqNo: en.seqNo, IfPrimaryTerm: en.term,
		})
	}
	p.table.dirty = left
	return job
}

// write bulk-writes a job in chunks; it runs outside the partition's
// goroutine and touches only the job.
func (p *partition) write(ctx context.Context, job *flushJob) flushResult {
	start := time.Now()
	r := flushResult{job: job, results: make([]esindex.Written, len(job.writes))}
	n := p.e.o.BulkDocs
	for lo := 0; lo < len(job.writes); lo += n {
		hi := min(lo+n, len(job.writes))
		res, err := p.e.o.ES.Bulk(ctx, job.writes[lo:hi])
		if err != nil {
			r.err = err // the outcome of these writes is unknown; results stay zero
			continue
		}
		copy(r.results[lo:hi], res)
	}
	r.took = time.Since(start)
	return r
}

// finish applies a write's results: new concurrency tokens, documents to
// write again, and, when everything was written, the offset commit.
func (p *partition) finish(ctx context.Context, r flushResult) error {
	m := p.e.m
	m.flushTime.Observe(r.took.Seconds())
	var conflicted []int // indexes into the job
	failed := 0
	var firstErr string
	for _, en := range r.job.entries {
		en.writing = false
	}
	for i, w := range r.results {
		en := r.job.entries[i]
		switch {
		case w.OK():
			en.seqNo, en.term, en.exists = w.SeqNo, w.PrimaryTerm, true
			m.flushDocs.Inc()
		case w.Conflict():
			conflicted = append(conflicted, i)
		default:
			failed++
			p.table.markDirty(en, r.job.first[i])
			if firstErr == "" {
				firstErr = fmt.Sprintf("%d %s: %s", w.Status, w.ErrType, w.ErrReason)
			}
		}
	}
	if len(conflicted) > 0 {
		m.conflicts.Add(float64(len(conflicted)))
		if err := p.resolve(ctx, conflicted, r.job); err != nil {
			m.flushes.WithLabelValues("conflict").Inc()
			return err
		}
	}
	if failed > 0 || len(conflicted) > 0 {
		m.flushes.WithLabelValues("retry").Inc()
		p.log.Warn("flush incomplete; writing again", "docs", len(r.job.writes), "failed", failed, "conflicts", len(conflicted), "err", r.err, "first_item_error", firstErr)
		return nil
	}
	m.flushes.WithLabelValues("ok").Inc()
	if !r.job.oldest.IsZero() {
		m.freshness.Observe(time.Since(r.job.oldest).Seconds())
	}
	p.commit(r.job.upTo)
	return nil
}

// resolve handles refused conditional writes. Either an earlier write of
// ours succeeded without our seeing the answer, or another writer stored
// the document. The stored offset decides: at or below ours, our state
// contains it, so take its token and write again; above ours, a newer
// owner has the partition.
func (p *partition) resolve(ctx context.Context, idx []int, job *flushJob) error {
	refs := make([]esindex.DocRef, len(idx))
	for i, j := range idx {
		refs[i] = esindex.DocRef{Index: job.entries[j].index, ID: job.entries[j].id}
	}
	got, err := p.e.o.ES.MGet(ctx, refs)
	if err != nil {
		// Try again at the next flush, with the same tokens.
		for _, j := range idx {
			p.table.markDirty(job.entries[j], job.first[j])
		}
		return nil
	}
	for i, j := range idx {
		en := job.entries[j]
		if !got[i].Found {
			en.exists, en.seqNo, en.term = false, 0, 0
			p.table.markDirty(en, job.first[j])
			continue
		}
		stored, err := esindex.DecodeDoc(p.e.o.Registry, got[i].Source)
		if err != nil {
			return fmt.Errorf("resolve conflict on %s: %w", en.id, err)
		}
		if stored.Offset > en.cell.Offset {
			return fmt.Errorf("%w: %s stored at offset %d, ours at %d", errAhead, en.id, stored.Offset, en.cell.Offset)
		}
		en.exists, en.seqNo, en.term = true, got[i].SeqNo, got[i].PrimaryTerm
		p.table.markDirty(en, job.first[j])
	}
	return nil
}

// commit marks every record before upTo durable, once the ledger rows of
// the records it covers are written (when a ledger is configured): the
// consumer then commits it. If the ledger write fails the offset is not
// marked, and the next flush tries again; a failed commit is harmless
// (the next owner replays from the previous commit and the watermarks skip
// what is counted).
func (p *partition) commit(upTo int64) {
	if upTo <= p.committed {
		return
	}
	if err := p.led.record(p.claim.Committed(), upTo); err != nil {
		p.e.m.ledgerErrors.Inc()
		p.log.Warn("ledger write failed; the offset is marked durable after it succeeds", "offset", upTo, "err", err)
		return
	}
	p.claim.Durable(upTo)
	p.committed = upTo
	p.e.setStatus(Status{Partition: p.id, Applied: p.applied, Committed: p.committed})
}
