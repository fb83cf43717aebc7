package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/tee"
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	Brokers []string
	Topic   string // DefaultTopic when empty
	Group   string // DefaultGroup when empty
	// Name identifies the worker in results (ledger.WriterID when empty).
	Name      string
	Sink      archive.Sink
	Customers *pixel.Customers
	Results   *Results
	// Raw is nextgen's raw store, for tasks that ask for it.
	Raw replay.RawReader
	// SessionTimeout: how soon a killed worker's tasks move (10s).
	SessionTimeout time.Duration
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Worker takes tasks from the task topic and stores their results.
type Worker struct {
	o        WorkerOptions
	consumer *tee.Consumer
	tasks    *prometheus.CounterVec
}

// NewWorker checks o and returns a worker.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Sink == nil || o.Customers == nil || o.Results == nil {
		return nil, errors.New("audit worker: need the archive, the customers and the result store")
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Name == "" {
		o.Name = ledger.WriterID("audit-worker")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Worker{o: o, tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "brooks", Subsystem: "audit_worker", Name: "tasks_total",
		Help: "Replay tasks by result: done, skipped (result stored already), failed (retried from the last commit)."}, []string{"result"})}
	if o.Registerer != nil {
		o.Registerer.MustRegister(w.tasks)
	}
	co := tee.DefaultOptions()
	co.Brokers, co.Topic, co.Group, co.Handler = o.Brokers, o.Topic, o.Group, w
	co.MaxBatch, co.Logger, co.Registerer = 1, o.Logger, o.Registerer
	if o.SessionTimeout > 0 {
		co.SessionTimeout = o.SessionTimeout
	}
	c, err := tee.NewConsumer(co)
	if err != nil {
		return nil, fmt.Errorf("audit worker: %w", err)
	}
	w.consumer = c
	return w, nil
}

// Run takes tasks until ctx ends.
func (w *Worker) Run(ctx context.Context) error { return w.consumer.Run(ctx) }

// Ready reports whether the worker has joined its group.
func (w *Worker) Ready(ctx context.Context) error { return w.consumer.Ready(ctx) }

// Assigned implements tee.Handler.
func (w *Worker) Assigned(context.Context, *tee.Claim) error { return nil }

// Tick implements tee.Handler.
func (w *Worker) Tick(context.Context, *tee.Claim) error { return nil }

// Revoked implements tee.Handler.
func (w *Worker) Revoked(context.Context, *tee.Claim) error { return nil }

// Handle does each task of the batch and marks it durable once its result
// is stored. An error ends the generation: the task is taken again from
// the last commit.
func (w *Worker) Handle(ctx context.Context, c *tee.Claim, batch []kafka.Message) error {
	for _, m := range batch {
		var t Task
		if err := json.Unmarshal(m.Value, &t); err != nil {
			w.o.Logger.Warn("undecodable task skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			c.Durable(m.Offset + 1)
			continue
		}
		done, err := w.o.Results.Has(ctx, t)
		if err != nil {
			w.tasks.WithLabelValues("failed").Inc()
			return fmt.Errorf("look up result: %w", err)
		}
		if done {
			w.tasks.WithLabelValues("skipped").Inc()
			c.Durable(m.Offset + 1)
			continue
		}
		r, err := w.Do(ctx, t)
		if err == nil {
			err = w.o.Results.Put(ctx, r)
		}
		if err != nil {
			w.tasks.WithLabelValues("failed").Inc()
			return fmt.Errorf("task %s %s %s: %w", t.Run, t.Customer, t.Hour.Format(time.RFC3339), err)
		}
		w.tasks.WithLabelValues("done").Inc()
		c.Durable(m.Offset + 1)
	}
	return nil
}

// Do replays one task's hour.
func (w *Worker) Do(ctx context.Context, t Task) (*Result, error) {
	keep := t.RawStore && w.o.Raw != nil
	tr, err := replay.Build(ctx, w.o.Sink, w.o.Customers, t.Customer, t.From, t.To, replay.BuildOptions{KeepEIDs: keep})
	if err != nil {
		return nil, err
	}
	r := &Result{Task: t, Worker: w.o.Name, Parts: tr.Parts, Records: tr.Records, Events: tr.Events, Duplicates: tr.Duplicates,
		Refused: tr.Refused, Orphans: tr.Orphans, Raw: []replay.RawHour{}, Cells: []json.RawMessage{}}
	if ev := tr.Hours[t.Hour]; ev != nil {
		r.Tally, r.HourParts = ev.Tally, ev.Parts
	}
	for _, cell := range tr.Rollup.Cells() {
		r.Cells = append(r.Cells, esindex.AppendDoc(nil, cell))
	}
	if keep {
		raw, err := replay.CheckRaw(ctx, w.o.Raw, tr, t.Now, t.Settle)
		if err != nil {
			r.RawError = err.Error()
		} else {
			r.Raw = raw
		}
	}
	return r, nil
}
