package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/rollup"
)

// Asker answers queries in the one language (*query.Client of legacy's or
// nextgen's API).
type Asker interface {
	Do(ctx context.Context, q *query.Query) (*query.Answer, error)
}

// Options configure a replay.
type Options struct {
	Sink      archive.Sink
	Customers *pixel.Customers
	// Legacy and Nextgen are the systems' query clients; a nil one is not
	// asked (its cells are left unjudged).
	Legacy, Nextgen Asker
	// Raw is nextgen's raw store, compared hour by hour with the archive
	// (skipped when nil).
	Raw RawReader
	// Now is the replay's clock (time.Now when zero); SettleDelay how long
	// after its end a bucket (or an hour) is judged.
	Now         time.Time
	SettleDelay time.Duration
	// Tolerances per metric, as diff takes them (approximate metrics get
	// 3 standard errors of what the system states by default).
	Tolerances map[string]diff.Tolerance
	// LegacyTolerances override Tolerances for legacy's answers:
	// DefaultOptions allows its HyperLogLog visitors 3 standard errors
	// plus 2 (Redis' sketch misses by one or two at small counts; legacy's
	// own tests hold it to the same bound).
	LegacyTolerances map[string]diff.Tolerance
	// Lookback: see BuildOptions.
	Lookback time.Duration
	Progress Progress
	Logger   *slog.Logger
}

// DefaultOptions returns Options with diff's settle delay.
func DefaultOptions() Options {
	return Options{SettleDelay: diff.DefaultSettleDelay, LegacyTolerances: map[string]diff.Tolerance{
		query.Visitors: {StdErrors: diff.DefaultStdErrors, Absolute: 2},
	}}
}

// Run replays customer's archive for [from, to) into ground truth, asks
// both systems the same questions, compares each with the truth through
// diff, compares the raw store with the archive, and returns the report.
// The error is for a replay that could not be made (archive unreadable,
// unknown customer, ctx ended); faults found are in the report.
func Run(ctx context.Context, o Options, customer string, from, to time.Time) (*Report, error) {
	if o.Sink == nil || o.Customers == nil {
		return nil, errors.New("replay: need an archive sink and the customers")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	start := time.Now()
	tr, err := Build(ctx, o.Sink, o.Customers, customer, from, to, BuildOptions{
		ReadOptions: ReadOptions{Progress: o.Progress}, Lookback: o.Lookback, KeepEIDs: o.Raw != nil,
	})
	if o.Progress != nil {
		o.Progress.Finish()
	}
	if err != nil {
		return nil, err
	}
	read := time.Since(start)
	rep, err := Judge(ctx, o, tr, nil)
	if err != nil {
		return nil, err
	}
	rep.ReadSeconds = read.Seconds()
	rep.ReplaySeconds = time.Since(start).Seconds()
	return rep, nil
}

// Judge asks both systems the questions of tr's scope and compares their
// answers with tr, and compares the raw store with the archive: raw when
// given (computed elsewhere, by distributed workers), else CheckRaw with
// o.Raw when tr kept its eids.
func Judge(ctx context.Context, o Options, tr *Truth, raw []RawHour) (*Report, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cust, err := o.Customers.Get(tr.Customer)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	customer := tr.Customer
	start := time.Now()
	rep := newReport(tr, o)
	for _, r := range tr.Refused {
		log.Warn("archive part refused", "part", r.Key, "reason", r.Reason)
	}
	j := newJudge(tr, diff.Options{Now: o.Now, SettleDelay: o.SettleDelay, Tolerances: o.Tolerances}, func(u string) bool { return cust.IsPost(u) })
	j.legacyTolerances = mergeTolerances(o.Tolerances, o.LegacyTolerances)
	legacyView := LegacyView(cust)
	for _, q := range Questions(customer, tr.From, tr.To, o.Now) {
		asker := o.Nextgen
		var match func(*rollup.Cell) bool
		if q.System == systemLegacy {
			asker, match = o.Legacy, legacyView
		}
		qr := QuestionResult{System: q.System, Interval: q.Query.Interval, GroupBy: q.Query.GroupBy, Metrics: q.Query.Metrics, From: q.Query.From, To: q.Query.To}
		if asker == nil {
			qr.Error = "not asked (no client)"
			j.failed = append(j.failed, failedQuestion{q, qr.Error})
			rep.Questions = append(rep.Questions, qr)
			continue
		}
		qq := q.Query
		ans, err := asker.Do(ctx, &qq)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			qr.Error = err.Error()
			j.failed = append(j.failed, failedQuestion{q, qr.Error})
			rep.Questions = append(rep.Questions, qr)
			log.Warn("question not answered", "system", q.System, "interval", q.Query.Interval, "group_by", q.Query.GroupBy, "err", err)
			continue
		}
		truth := Answer(tr.Rollup, &q.Query, match)
		if err := j.add(q, truth, ans); err != nil {
			qr.Error = err.Error()
			j.failed = append(j.failed, failedQuestion{q, qr.Error})
		}
		qr.Series = len(ans.Series)
		rep.Questions = append(rep.Questions, qr)
	}
	rep.setCells(j.finish())
	if raw != nil {
		rep.RawStore = raw
	} else if o.Raw != nil {
		hours, err := CheckRaw(ctx, o.Raw, tr, o.Now, o.SettleDelay)
		if err != nil {
			rep.RawStoreError = err.Error()
			log.Warn("raw store not compared", "err", err)
		}
		rep.RawStore = hours
	}
	rep.decide()
	rep.ReplaySeconds = time.Since(start).Seconds()
	return rep, nil
}

func mergeTolerances(base, over map[string]diff.Tolerance) map[string]diff.Tolerance {
	out := map[string]diff.Tolerance{}
	for m, t := range base {
		out[m] = t
	}
	for m, t := range over {
		out[m] = t
	}
	return out
}
