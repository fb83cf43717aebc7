package dist

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/rollup"
	"github.com/brooksdata/brooks/shadow/tee"
)

// ReplayOptions configure a distributed replay.
type ReplayOptions struct {
	// Replay judges the merged truth (its Sink is not read; its Raw is
	// not used: the workers compare the raw store, when Raw is set).
	Replay  replay.Options
	Brokers []string
	Topic   string // DefaultTopic when empty
	// Partitions of the task topic when it is created (12).
	Partitions int
	Results    *Results
	// Run names the replay (a new id when empty).
	Run string
	// Wait bounds how long the results may take (10 minutes).
	Wait time.Duration
}

// Replay splits [from, to) of customer into hour tasks, publishes them,
// waits for every result, merges them and judges the truth.
func Replay(ctx context.Context, o ReplayOptions, customer string, from, to time.Time) (*replay.Report, error) {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Partitions <= 0 {
		o.Partitions = 12
	}
	if o.Wait <= 0 {
		o.Wait = 10 * time.Minute
	}
	if o.Run == "" {
		o.Run = fmt.Sprintf("%s-%d", customer, time.Now().UnixNano())
	}
	now := o.Replay.Now
	if now.IsZero() {
		now = time.Now()
	}
	o.Replay.Now = now.UTC()
	from, to = replay.AlignScope(from, to)
	var tasks []Task
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		t := Task{Run: o.Run, Customer: customer, Hour: h, From: maxTime(h, from), To: minTime(h.Add(time.Hour), to),
			Now: o.Replay.Now, Settle: o.Replay.SettleDelay, RawStore: o.Replay.Raw != nil}
		tasks = append(tasks, t)
	}
	if err := (tee.Topic{Brokers: o.Brokers, Name: o.Topic, Partitions: o.Partitions}).Ensure(ctx); err != nil {
		return nil, fmt.Errorf("task topic: %w", err)
	}
	if err := publish(ctx, o.Brokers, o.Topic, tasks); err != nil {
		return nil, err
	}
	results, err := wait(ctx, o.Results, o.Run, len(tasks), o.Wait)
	if err != nil {
		return nil, err
	}
	tr, raw, err := merge(o.Replay, customer, from, to, results)
	if err != nil {
		return nil, err
	}
	rep, err := replay.Judge(ctx, o.Replay, tr, raw)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func publish(ctx context.Context, brokers []string, topic string, tasks []Task) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, len(tasks))
	for i, t := range tasks {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		msgs[i] = kafka.Message{Key: []byte(t.Customer + "/" + t.Hour.Format(time.RFC3339)), Value: b}
	}
	var err error
	for attempt := range 10 {
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return fmt.Errorf("publish tasks: %w", err)
}

// wait polls the result store until n results of run are there.
func wait(ctx context.Context, rs *Results, run string, n int, d time.Duration) ([]*Result, error) {
	deadline := time.Now().Add(d)
	for {
		got, err := rs.List(ctx, run)
		if err == nil && len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("distributed replay %s: %d of %d results after %s (are workers running?), last error %v", run, len(got), n, d, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// merge builds one Truth from the hours' results: 5-minute cells as they
// are, daily cells added up across hours.
func merge(o replay.Options, customer string, from, to time.Time, results []*Result) (*replay.Truth, []replay.RawHour, error) {
	tr := &replay.Truth{Customer: customer, From: from, To: to, Rollup: rollup.New(o.Customers, rollup.Options{KeepDuplicates: true}),
		Hours: map[time.Time]*replay.HourEvidence{}, Damaged: map[time.Time]bool{}}
	reg := tr.Rollup.Registry()
	var raw []replay.RawHour
	for _, r := range results {
		tr.Parts += r.Parts
		tr.Records += r.Records
		tr.Events += r.Events
		tr.Duplicates += r.Duplicates
		tr.Orphans = append(tr.Orphans, r.Orphans...)
		for _, ref := range r.Refused {
			tr.Refused = append(tr.Refused, ref)
			tr.Damaged[ref.Hour] = true
		}
		if r.HourParts > 0 {
			tr.Hours[r.Task.Hour] = &replay.HourEvidence{Tally: r.Tally, Parts: r.HourParts}
		}
		raw = append(raw, r.Raw...)
		for _, doc := range r.Cells {
			c, err := esindex.DecodeDoc(reg, doc)
			if err != nil {
				return nil, nil, fmt.Errorf("result of %s: %w", r.Task.Hour.Format(time.RFC3339), err)
			}
			if have := tr.Rollup.Get(c.Key); have != nil {
				have.Merge(c)
			} else {
				tr.Rollup.Put(c)
			}
		}
	}
	if raw == nil {
		raw = []replay.RawHour{}
	}
	return tr, raw, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
