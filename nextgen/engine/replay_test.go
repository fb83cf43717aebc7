package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/rollup"
)

// counter reads a counter of reg by name and one label value.
func counter(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					v += m.GetCounter().GetValue()
				}
			}
		}
	}
	return v
}

// resetGroup commits offset 0 for every partition: the state a crash
// leaves when documents were written but no offset was committed.
func resetGroup(t testing.TB, e *env) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(e.cfg.KafkaBrokers...), Timeout: 10 * time.Second}
	var parts []kafka.OffsetCommit
	for p := range e.cfg.TopicPartitions {
		parts = append(parts, kafka.OffsetCommit{Partition: p, Offset: 0})
	}
	res, err := client.OffsetCommit(context.Background(), &kafka.OffsetCommitRequest{GroupID: e.group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{e.cfg.Topic: parts}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Topics[e.cfg.Topic] {
		if p.Error != nil {
			t.Fatalf("reset partition %d: %v", p.Partition, p.Error)
		}
	}
}

// Replaying the whole topic over documents that already hold it (a crash
// after the bulk write and before the commit, at its worst) changes
// nothing: every record is recognised as already applied by the documents'
// offset watermarks, and the raw store reports the origins fresh, not as
// duplicates.
func TestReplayOverWrittenDocsChangesNothing(t *testing.T) {
	e := newEnv(t, testenv.Config(t))
	now := time.Now().UTC()
	events := withRetries(generate(t, 5, 5000, now.Add(-20*time.Minute), 20*time.Minute), 50, 5)
	produce(t, e.cfg, events)
	reg1 := prometheus.NewRegistry()
	_, stop := e.start(t, func(o *engine.Options) { o.Registerer = reg1 })
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()
	applied := counter(t, reg1, "brooks_nextgen_records_total", "applied")
	dups := counter(t, reg1, "brooks_nextgen_records_total", "duplicate")

	resetGroup(t, e)
	reg2 := prometheus.NewRegistry()
	_, stop = e.start(t, func(o *engine.Options) { o.Registerer = reg2 })
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()
	if got := counter(t, reg2, "brooks_nextgen_records_total", "applied"); got != 0 {
		t.Errorf("replay applied %v records again", got)
	}
	if got := counter(t, reg2, "brooks_nextgen_records_total", "replayed"); got != applied {
		t.Errorf("replay recognised %v records as applied, want %v", got, applied)
	}
	if got := counter(t, reg2, "brooks_nextgen_records_total", "duplicate"); got != dups || dups == 0 {
		t.Errorf("replay found %v duplicates, first run %v (want equal, > 0)", got, dups)
	}
	for _, g := range rollup.Granularities {
		compareCells(t, string(g), e.cells(t, g), batchCells(t, events, g))
	}
}

// Partitions move between two engines of the same group while records
// flow: a second engine joins mid-stream, then the first one leaves. Each
// move hands documents over through Elasticsearch and offsets through the
// group; the totals stay exact.
func TestRebalanceMidStream(t *testing.T) {
	e := newEnv(t, testenv.Config(t))
	now := time.Now().UTC()
	events := generate(t, 9, 9000, now.Add(-15*time.Minute), 15*time.Minute)
	third := len(events) / 3
	_, stopA := e.start(t, nil)
	produce(t, e.cfg, events[:third])
	_, stopB := e.start(t, nil)
	produce(t, e.cfg, events[third:2*third])
	stopA()
	produce(t, e.cfg, events[2*third:])
	waitCommitted(t, e.cfg, e.group, 2*time.Minute)
	stopB()
	for _, g := range rollup.Granularities {
		compareCells(t, string(g), e.cells(t, g), batchCells(t, events, g))
	}
}
