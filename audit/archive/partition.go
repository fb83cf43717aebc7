package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/shadow/tee"
)

// Close reasons written in manifests and metrics.
const (
	ReasonHour      = "hour"
	ReasonRoll      = "roll"
	ReasonSize      = "size"
	ReasonShutdown  = "shutdown"
	ReasonRebalance = "rebalance"
)

// dayKey names the manifests of one customer's UTC day, the unit in which
// a partition worker loads what earlier runs already closed.
type dayKey struct {
	customer string
	day      time.Time
}

// partitionWorker archives one Kafka partition for one consumer-group
// generation. It alone touches its state, so it needs no locks.
type partitionWorker struct {
	a     *Archiver
	claim *tee.Claim
	topic string
	id    int
	label string

	open map[segKey]*segment
	// closed holds, per customer and hour, the last offset of the newest
	// closed part: a record at or below it is already in the archive (a
	// replay after a crash between closing a part and committing).
	closed map[segKey]int64
	loaded map[dayKey]bool

	next      int64 // offset after the last record handled; -1 before any
	committed int64 // last committed offset; -1 if none
	// broken stops all commits once a record may not be durable (a failed
	// write or close): the next owner replays from the last commit.
	broken bool
}

func newPartitionWorker(a *Archiver, c *tee.Claim) *partitionWorker {
	w := &partitionWorker{a: a, claim: c, topic: a.opts.Topic, id: c.Partition, label: fmt.Sprint(c.Partition),
		open: map[segKey]*segment{}, closed: map[segKey]int64{}, loaded: map[dayKey]bool{}, next: -1, committed: -1}
	if c.Start >= 0 {
		w.committed = c.Start
	}
	return w
}

// commitPoint is the offset that is safe to commit: the first offset of
// the oldest open part (its records are not durable yet), else the offset
// after the last record handled. ok is false before any record.
func commitPoint(open map[segKey]*segment, next int64) (int64, bool) {
	if next < 0 {
		return 0, false
	}
	p := next
	for _, s := range open {
		if s.first < p {
			p = s.first
		}
	}
	return p, true
}

// closeReason says why s must close at now, or "" if it stays open: its
// hour ended more than grace ago, or it is older than roll.
func closeReason(s *segment, now time.Time, roll, grace time.Duration) string {
	if !now.Before(s.key.hour.Add(time.Hour + grace)) {
		return ReasonHour
	}
	if roll > 0 && now.Sub(s.opened) >= roll {
		return ReasonRoll
	}
	return ""
}

// handle archives one record, unless an earlier run already did.
func (w *partitionWorker) handle(ctx context.Context, m kafka.Message) error {
	opts := &w.a.opts
	customer, eid, hour := InvalidCustomer, "", m.Time.UTC().Truncate(time.Hour)
	ev, err := decodeHead(m.Value)
	switch {
	case err != nil:
		w.a.m.invalid.WithLabelValues("decode").Inc()
	case !ValidCustomer(ev.Customer):
		w.a.m.invalid.WithLabelValues("customer").Inc()
	default:
		customer, eid, hour = ev.Customer, ev.EID, ev.ReceivedAt.UTC().Truncate(time.Hour)
	}
	if customer == InvalidCustomer {
		w.a.log.Warn("archiving an invalid record under "+InvalidCustomer, "partition", w.id, "offset", m.Offset, "err", err)
	}
	k := segKey{customer: customer, hour: hour}
	if err := w.load(ctx, k); err != nil {
		return err
	}
	w.next = m.Offset + 1
	if last, ok := w.closed[k]; ok && m.Offset <= last {
		w.a.m.skipped.WithLabelValues("replayed").Inc()
		return nil
	}
	s := w.open[k]
	if s == nil {
		s, err = openSegment(ctx, opts.Sink, k, w.id, m.Offset, opts.Compression, opts.Now())
		if err != nil {
			return err
		}
		w.open[k] = s
		w.a.m.openParts.Inc()
	}
	if err := s.add(m.Offset, m.Value, eid); err != nil {
		return err
	}
	w.a.m.events.WithLabelValues(customer).Inc()
	if opts.MaxPartBytes > 0 && s.rawBytes >= opts.MaxPartBytes {
		return w.closeSegment(ctx, s, ReasonSize)
	}
	return nil
}

// load reads the manifests of k's customer and day written for this
// partition and topic, once per generation, to learn what is already
// archived.
func (w *partitionWorker) load(ctx context.Context, k segKey) error {
	dk := dayKey{customer: k.customer, day: k.hour.Truncate(24 * time.Hour)}
	if w.loaded[dk] {
		return nil
	}
	sink := w.a.opts.Sink
	hours, err := sink.List(ctx, DayPrefix(dk.customer, dk.day))
	if err != nil {
		return fmt.Errorf("recover partition %d: %w", w.id, err)
	}
	n := 0
	for _, h := range hours {
		if !strings.HasSuffix(h, "/") {
			continue
		}
		keys, err := sink.List(ctx, h)
		if err != nil {
			return fmt.Errorf("recover partition %d: %w", w.id, err)
		}
		for _, key := range keys {
			p, _, ok := ParseName(key)
			if !ok || p != w.id || !strings.HasSuffix(key, ManifestSuffix) {
				continue
			}
			man, err := ReadManifest(ctx, sink, key)
			if err != nil {
				return fmt.Errorf("recover partition %d: %w", w.id, err)
			}
			if man.Topic != w.topic {
				continue
			}
			mk := segKey{customer: man.Customer, hour: man.Hour.UTC()}
			if last, ok := w.closed[mk]; !ok || man.LastOffset > last {
				w.closed[mk] = man.LastOffset
			}
			n++
		}
	}
	w.loaded[dk] = true
	if n > 0 {
		w.a.log.Debug("loaded closed parts", "partition", w.id, "customer", dk.customer, "day", dk.day.Format("2006-01-02"), "manifests", n)
	}
	return nil
}

// closeDue closes the parts whose hour ended or whose roll time passed.
func (w *partitionWorker) closeDue(ctx context.Context) error {
	now := w.a.opts.Now()
	for _, s := range w.open {
		if why := closeReason(s, now, w.a.opts.RollInterval, w.a.opts.HourGrace); why != "" {
			if err := w.closeSegment(ctx, s, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// closeSegment makes s durable with its manifest and records it in the
// ledger; the caller commits afterwards.
func (w *partitionWorker) closeSegment(ctx context.Context, s *segment, reason string) error {
	start := time.Now()
	delete(w.open, s.key)
	w.a.m.openParts.Dec()
	man, err := s.close(ctx, w.a.opts.Sink, w.topic, reason, w.a.writer, w.a.opts.Now())
	if err != nil {
		w.broken = true
		return fmt.Errorf("partition %d: %w", w.id, err)
	}
	w.closed[s.key] = man.LastOffset
	w.a.m.parts.WithLabelValues(reason).Inc()
	w.a.m.bytes.Add(float64(man.Bytes))
	w.a.m.closeSeconds.Observe(time.Since(start).Seconds())
	w.a.log.Debug("part closed", "key", man.Key, "events", man.Events, "bytes", man.Bytes, "reason", reason)
	w.a.ledger.record(ctx, man)
	return nil
}

// commit marks the safe offset durable if it moved; the consumer commits
// it.
func (w *partitionWorker) commit() {
	if w.broken {
		return
	}
	if p, ok := commitPoint(w.open, w.next); ok && p > w.committed {
		w.claim.Durable(p)
		w.committed = p
	}
}

// stop closes every open part and commits, with a fresh deadline: the
// generation's context has already ended.
func (w *partitionWorker) stop(reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.a.opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, s := range w.open {
		if err := w.closeSegment(ctx, s, reason); err != nil {
			errs = append(errs, err)
		}
	}
	w.commit() // a no-op if any close failed (broken)
	return errors.Join(errs...)
}
