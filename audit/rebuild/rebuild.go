package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// RawWriter puts raw events back (*rawstore.Store): records whose eid is
// stored already are left alone.
type RawWriter interface {
	Insert(ctx context.Context, recs []rawstore.Record) ([]rawstore.Outcome, error)
	Each(ctx context.Context, customer string, hour time.Time, fn func(rawstore.Record) error) error
}

// Checkpoints keep a rebuild's progress (*CheckpointStore).
type Checkpoints interface {
	Load(ctx context.Context, id ScopeID) (Checkpoint, error)
	Save(ctx context.Context, id ScopeID, c Checkpoint) error
	Delete(ctx context.Context, id ScopeID) error
}

// Options configure a rebuild.
type Options struct {
	Sink      archive.Sink
	Customers *pixel.Customers
	ES        *esindex.Client
	// Raw, when set, gets back the archive events the raw store lacks.
	Raw RawWriter
	// Checkpoints, when set, make the rebuild resumable.
	Checkpoints Checkpoints
	// Committed returns the live engine group's committed offsets of the
	// partitions; a document is written only when its partition's
	// committed offset is above the document's watermark. nil: not checked
	// (no engine runs, or the caller has stopped it).
	Committed func(ctx context.Context, partitions []int) (map[int]int64, error)
	// Rate caps archive events read per second (0: no cap).
	Rate float64
	// Now is the clock deciding what is settled; Settle how long after its
	// end an hour is rebuilt.
	Now    time.Time
	Settle time.Duration
	// BulkDocs is the documents per multi-get and bulk request.
	BulkDocs   int
	Progress   replay.Progress
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultOptions returns the defaults: settle 15 minutes (the archive's
// roll interval and hour grace, and the engine's flushes, are well inside
// it), 500 documents per request.
func DefaultOptions() Options {
	return Options{Settle: 15 * time.Minute, BulkDocs: 500}
}

// Result is what a rebuild did.
type Result struct {
	Customer string    `json:"customer"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Hours and Days rebuilt; Resumed the hours and days a checkpoint
	// said were done.
	Hours   int   `json:"hours"`
	Days    int   `json:"days"`
	Resumed int   `json:"resumed"`
	Events  int64 `json:"events"`
	// Documents by what happened to them.
	Written   int `json:"written"`
	Unchanged int `json:"unchanged"`
	Emptied   int `json:"emptied"`
	Ahead     int `json:"ahead"`
	Behind    int `json:"behind"`
	Conflicts int `json:"conflicts"`
	// RawRestored counts raw-store rows put back.
	RawRestored int              `json:"raw_restored"`
	Refused     []replay.Refusal `json:"refused"`
	Skipped     []string         `json:"skipped"`
	Seconds     float64          `json:"seconds"`
}

// Run rebuilds customer's documents for the hours holding [from, to).
func Run(ctx context.Context, o Options, customer string, from, to time.Time) (*Result, error) {
	if o.Sink == nil || o.Customers == nil || o.ES == nil {
		return nil, errors.New("rebuild: need an archive sink, the customers and Elasticsearch")
	}
	if _, err := o.Customers.Get(customer); err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	d := DefaultOptions()
	if o.BulkDocs <= 0 {
		o.BulkDocs = d.BulkDocs
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	from = from.UTC().Truncate(time.Hour)
	if t := to.UTC().Truncate(time.Hour); t.Equal(to.UTC()) {
		to = t
	} else {
		to = t.Add(time.Hour)
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("rebuild %s: empty scope", customer)
	}
	r := &run{o: o, m: newMetrics(o.Registerer), id: ScopeID{Customer: customer, From: from, To: to},
		res: &Result{Customer: customer, From: from, To: to, Refused: []replay.Refusal{}, Skipped: []string{}}}
	if o.Rate > 0 {
		r.lim = rate.NewLimiter(rate.Limit(o.Rate), int(math.Max(o.Rate, 1)))
	}
	start := time.Now()
	if o.Checkpoints != nil {
		cp, err := o.Checkpoints.Load(ctx, r.id)
		if err != nil {
			return nil, fmt.Errorf("rebuild: load checkpoint: %w", err)
		}
		r.cp = cp
	}
	for day := from.Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		if err := r.day(ctx, day); err != nil {
			return r.res, err
		}
	}
	if o.Progress != nil {
		o.Progress.Finish()
	}
	if o.Checkpoints != nil {
		if err := o.Checkpoints.Delete(ctx, r.id); err != nil {
			return r.res, fmt.Errorf("rebuild: delete checkpoint: %w", err)
		}
	}
	r.res.Seconds = time.Since(start).Seconds()
	return r.res, nil
}

// run is one rebuild.
type run struct {
	o   Options
	m   *metrics
	id  ScopeID
	cp  Checkpoint
	lim *rate.Limiter
	res *Result
}

func (r *run) settled(end time.Time) bool { return !end.Add(r.o.Settle).After(r.o.Now) }

// day rebuilds one UTC day: its daily documents (when the day is settled
// and wholly intact), then each hour of the scope.
func (r *run) day(ctx context.Context, day time.Time) error {
	end := day.Add(24 * time.Hour)
	var hours []time.Time
	for h := day; h.Before(end); h = h.Add(time.Hour) {
		if h.Before(r.id.From) || !h.Before(r.id.To) {
			continue
		}
		if h.Before(r.cp.HoursDone) {
			r.res.Resumed++
			continue
		}
		if !r.settled(h.Add(time.Hour)) {
			r.res.Skipped = append(r.res.Skipped, h.Format("2006-01-02 15:00")+": hour not settled")
			continue
		}
		hours = append(hours, h)
	}
	doDaily := r.settled(end) && !day.Before(r.cp.DaysDone)
	if !r.settled(end) {
		r.res.Skipped = append(r.res.Skipped, day.Format("2006-01-02")+" daily: day not settled")
	} else if !doDaily {
		r.res.Resumed++
	}
	if len(hours) == 0 && !doDaily {
		return nil
	}
	src, err := r.read(ctx, day)
	if err != nil {
		return err
	}
	if doDaily {
		if src.dayDamaged() {
			r.res.Skipped = append(r.res.Skipped, day.Format("2006-01-02")+" daily: an archive part of the day was refused")
		} else {
			if err := r.write(ctx, src, rollup.OneDay, day, end); err != nil {
				return err
			}
			r.res.Days++
		}
		if err := r.save(ctx, Checkpoint{HoursDone: r.cp.HoursDone, DaysDone: end}); err != nil {
			return err
		}
	}
	for _, h := range hours {
		if src.truth.Damaged[h] {
			r.res.Skipped = append(r.res.Skipped, h.Format("2006-01-02 15:00")+": an archive part of the hour was refused")
		} else {
			if err := r.write(ctx, src, rollup.FiveMinutes, h, h.Add(time.Hour)); err != nil {
				return err
			}
			if err := r.restoreRaw(ctx, src, h); err != nil {
				return err
			}
			r.res.Hours++
		}
		if err := r.save(ctx, Checkpoint{HoursDone: h.Add(time.Hour), DaysDone: r.cp.DaysDone}); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) save(ctx context.Context, cp Checkpoint) error {
	r.cp = cp
	if r.o.Checkpoints == nil {
		return nil
	}
	if err := r.o.Checkpoints.Save(ctx, r.id, cp); err != nil {
		return fmt.Errorf("rebuild: save checkpoint: %w", err)
	}
	return nil
}
